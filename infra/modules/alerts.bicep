// On-call: an action group (email and webhook receivers; paging tools take webhooks) and the
// log search alert rules over the workspace. The queries live in infra/alerts/*.kql; this
// module loads them and fills in their placeholders. Every rule states how it resolves (the
// header of its .kql file says why):
//   high-regression, production-regression  pages, one per entry into Fail; stateless, never
//                                            resolved automatically (closed by on-call)
//   production-high-failing                  the failing state; stateful, resolves when the
//                                            control's newest verdict is no longer Fail
//   pipeline-silent, evaluation-errors       health; stateful, resolve when runs arrive again /
//                                            no error in the window

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

@description('Resource id of the compliance workbook (the alerts link to it).')
param workbookId string

@description('Suffix of the rule names (unique per deployment).')
param nameSuffix string

@description('Tag that marks production targets (compared lower-case).')
param productionTagName string = 'environment'

@description('Value of that tag on production targets (compared case-insensitively).')
param productionTagValue string = 'production'

@description('Tag that names a target\'s owner; the alerts show its value.')
param ownerTagName string = 'owner'

@description('Minutes between two sweeps (the pipeline-silent window is two of them).')
param sweepIntervalMinutes int = 60

@description('Azure portal of this cloud (links in the alerts).')
param portalUrl string = environment().portal

// Placeholders inside KQL string literals: tag names lower-case (the code stores tag names
// lower-case), without double quotes and backslashes ('\u{5C}'), which would end or escape the
// literals they are put in.
var prodTag = replace(replace(toLower(productionTagName), '"', ''), '\u{5C}', '')
var prodValue = replace(replace(productionTagValue, '"', ''), '\u{5C}', '')
var ownerTag = replace(replace(toLower(ownerTagName), '"', ''), '\u{5C}', '')
var portal = replace(replace(portalUrl, '"', ''), '\u{5C}', '')
var workbookUrl = replace(replace('${portal}/#resource${workbookId}', '"', ''), '\u{5C}', '')
var silentMinutes = 2 * sweepIntervalMinutes
var silentWindow = silentMinutes < 60 ? 'PT${silentMinutes}M' : 'PT${silentMinutes / 60}H'

// Log search alerts carry no result rows in their payload (common alert schema, Log Alerts V2):
// what on-call reads is the alert target (resourceIdColumn) and the dimensions, at most six.
var pageDimensionNames = [
  'Control'
  'Change'
  'Reason'
  'Fix'
  'Context'
  'Links'
]
var stateDimensionNames = [
  'Control'
  'Target'
  'Owner'
  'Fix'
  'Links'
]
var errorDimensionNames = [
  'Source'
  'Function'
  'ResourceName'
]
var pageDimensions = [for name in pageDimensionNames: {
  name: name
  operator: 'Include'
  values: [
    '*'
  ]
}]
var stateDimensions = [for name in stateDimensionNames: {
  name: name
  operator: 'Include'
  values: [
    '*'
  ]
}]
var errorDimensions = [for name in errorDimensionNames: {
  name: name
  operator: 'Include'
  values: [
    '*'
  ]
}]

var rules = [
  {
    name: 'alert-high-regression-${nameSuffix}'
    file: 'high-regression'
    displayName: 'AKS compliance: High control entered Fail'
    description: 'A High-severity control of a cluster, registry or subscription entered Fail (first evaluation, or from Pass, NotApplicable, Unknown or Exempt) or can no longer be verified. One page per entry into Fail; never resolved automatically: the production-high-failing alert tracks the state.'
    severity: 1
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    overrideQueryTimeRange: 'P2D'
    query: replace(replace(replace(loadTextContent('../alerts/high-regression.kql'), '{{OWNER_TAG}}', ownerTag), '{{PORTAL_URL}}', portal), '{{WORKBOOK_URL}}', workbookUrl)
    resourceIdColumn: 'ResourceId'
    dimensions: pageDimensions
    autoMitigate: false
  }
  {
    name: 'alert-production-regression-${nameSuffix}'
    file: 'production-regression'
    displayName: 'AKS compliance: control entered Fail on a production target'
    description: 'A control entered Fail on a target tagged ${prodTag}=${prodValue}. One page per entry into Fail; never resolved automatically.'
    severity: 2
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    overrideQueryTimeRange: 'P2D'
    query: replace(replace(replace(replace(replace(loadTextContent('../alerts/production-regression.kql'), '{{PROD_TAG}}', prodTag), '{{PROD_VALUE}}', prodValue), '{{OWNER_TAG}}', ownerTag), '{{PORTAL_URL}}', portal), '{{WORKBOOK_URL}}', workbookUrl)
    resourceIdColumn: 'ResourceId'
    dimensions: pageDimensions
    autoMitigate: false
  }
  {
    name: 'alert-production-high-failing-${nameSuffix}'
    file: 'production-high-failing'
    displayName: 'AKS compliance: High control failing on a production target'
    description: 'A High-severity control fails now on a target tagged ${prodTag}=${prodValue}. Stays fired while it fails; resolves when the control passes (or the target is deleted or no longer production).'
    severity: 1
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    overrideQueryTimeRange: 'P2D'
    query: replace(replace(replace(replace(replace(loadTextContent('../alerts/production-high-failing.kql'), '{{PROD_TAG}}', prodTag), '{{PROD_VALUE}}', prodValue), '{{OWNER_TAG}}', ownerTag), '{{PORTAL_URL}}', portal), '{{WORKBOOK_URL}}', workbookUrl)
    resourceIdColumn: 'ResourceId'
    dimensions: stateDimensions
    autoMitigate: true
  }
  {
    name: 'alert-pipeline-silent-${nameSuffix}'
    file: 'pipeline-silent'
    displayName: 'AKS compliance: pipeline silent'
    description: 'No evaluation run recorded for two sweep intervals (${silentMinutes} minutes): the Function App, its timer, its queue or Logs Ingestion is down. Resolves when runs arrive again.'
    severity: 2
    evaluationFrequency: sweepIntervalMinutes < 15 ? 'PT5M' : 'PT15M'
    windowSize: silentWindow
    overrideQueryTimeRange: null
    query: replace(loadTextContent('../alerts/pipeline-silent.kql'), '{{SWEEP_MINUTES}}', string(sweepIntervalMinutes))
    resourceIdColumn: null
    dimensions: []
    autoMitigate: true
  }
  {
    name: 'alert-evaluation-errors-${nameSuffix}'
    file: 'evaluation-errors'
    displayName: 'AKS compliance: evaluation or ingestion errors'
    description: 'Evaluation runs that ended in Error, exceptions of the functions, or records Log Analytics did not accept. Resolves after three 15-minute windows without an error.'
    severity: 3
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    overrideQueryTimeRange: null
    query: loadTextContent('../alerts/evaluation-errors.kql')
    resourceIdColumn: null
    dimensions: errorDimensions
    autoMitigate: true
  }
]

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
    overrideQueryTimeRange: rule.overrideQueryTimeRange
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
      // Webhooks, Logic Apps and Functions receive these with the common alert schema
      // (not e-mail); the per-target values are in the dimensions.
      customProperties: {
        rule: rule.file
        workbook: workbookUrl
        onCallGuide: 'docs/on-call.md in the AKS Compliance Monitor repository'
      }
    }
  }
}]

output actionGroupId string = actionGroup.id
output ruleNames array = [for rule in rules: rule.name]
