// On-call: an action group (email and webhook receivers; paging tools take webhooks)
// and the log search alert rules over the workspace. The queries live in
// infra/alerts/*.kql; main.bicep loads them and fills in their placeholders.

@description('Azure region of the workspace (log alert rules live beside it).')
param location string

@description('Tags for the resources.')
param tags object = {}

@description('Action group name.')
param actionGroupName string

@description('Action group short name (at most 12 characters; shown in SMS and e-mail).')
@maxLength(12)
param actionGroupShortName string = 'aks-comply'

@description('E-mail addresses to notify.')
param emailAddresses array = []

@description('Webhook URLs to call (paging tools, chat); may be empty.')
param webhookUrls array = []

@description('Resource id of the Log Analytics workspace the rules query.')
param workspaceId string

@description('''Alert rules: objects with name, displayName, description, severity (0-4),
evaluationFrequency, windowSize, query, resourceIdColumn (or null), dimensions (criteria dimension objects),
autoMitigate (bool) and muteActionsDuration (ISO 8601 duration, or null when autoMitigate).''')
param rules array

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: actionGroupShortName
    enabled: true
    emailReceivers: [for (address, i) in emailAddresses: {
      name: 'email-${i}'
      emailAddress: address
      useCommonAlertSchema: true
    }]
    webhookReceivers: [for (url, i) in webhookUrls: {
      name: 'webhook-${i}'
      serviceUri: url
      useCommonAlertSchema: true
    }]
  }
}

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for rule in rules: {
  name: rule.name
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: rule.displayName
    description: rule.description
    severity: rule.severity
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: rule.evaluationFrequency
    windowSize: rule.windowSize
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          resourceIdColumn: rule.resourceIdColumn
          dimensions: rule.dimensions
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: rule.autoMitigate
    muteActionsDuration: rule.muteActionsDuration
    // The queries are type-checked offline against the table schemas (tests); skipping
    // the service-side validation avoids a first-deployment race with the custom tables
    // and the workspace-based Application Insights tables, which can take minutes to
    // become queryable.
    skipQueryValidation: true
    checkWorkspaceAlertsStorageConfigured: false
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}]

output actionGroupId string = actionGroup.id
