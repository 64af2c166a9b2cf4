// AKS Compliance Monitor: everything `azd up` provisions (then azd deploys the code, then
// the postdeploy hook creates the Event Grid subscription: eventgrid/subscription.bicep).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds the resource names.')
param environmentName string

@minLength(1)
@description('Azure region of every regional resource (Flex Consumption must be available there).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Subscription ids to monitor (Reader is granted on each). Empty: the deployment subscription only.')
param monitoredSubscriptionIds array = []

@description('Subscription ids whose Azure Firewalls count as egress firewalls for every cluster (HUB_SUBSCRIPTIONS).')
param hubSubscriptionIds array = []

@description('Minutes between two sweeps of the whole estate; sets SWEEP_SCHEDULE and the pipeline-silent alert window.')
@allowed([
  5
  10
  15
  20
  30
  60
  120
  180
  240
  360
  480
  720
  1440
])
param sweepIntervalMinutes int = 60

@description('Tag that marks production clusters for the production-regression alert (compared lower-case).')
param productionTagName string = 'environment'

@description('Value of that tag on production clusters (compared case-insensitively).')
param productionTagValue string = 'production'

@description('Tag that names a target\'s owner (team or person); the alerts and the workbook show it.')
param ownerTagName string = 'owner'

@description('E-mail addresses the alerts notify.')
param alertEmailAddresses array = []

@description('Webhook URLs the alerts call (paging tools, chat); may be empty.')
param alertWebhookUrls array = []

@description('Days Log Analytics keeps the compliance records.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 90

@description('Maximum instances of the Flex Consumption plan.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Instance memory of the Flex Consumption plan, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Tags for every resource (azd-env-name is added).')
param tags object = {}

@description('Optional webhook that receives every compliance change (CloudEvents); empty: the topic has no subscription.')
param complianceEventsWebhookUrl string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var allTags = union(tags, {
  'azd-env-name': environmentName
})
var resourceGroupName = 'rg-${environmentName}'
var functionAppName = 'func-${resourceToken}'
var scopeSubscriptionIds = empty(monitoredSubscriptionIds) ? [
  subscription().subscriptionId
] : monitoredSubscriptionIds

// Names the code binds to (shared/settings.py, functions/worker.py).
var workQueueName = 'compliance-work'
var stateTable = 'ComplianceState'
var depsTable = 'ComplianceDeps'
var outboxTable = 'ComplianceOutbox'
var deploymentContainerName = 'app-package'
var deadLetterContainerName = 'eventgrid-deadletter'

// NCRONTAB (six fields, seconds first); every allowed interval divides an hour or a day.
var sweepSchedule = sweepIntervalMinutes < 60 ? '0 */${sweepIntervalMinutes} * * * *' : (sweepIntervalMinutes < 1440 ? '0 0 */${sweepIntervalMinutes / 60} * * *' : '0 0 0 * * *')

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: resourceGroupName
  location: location
  tags: allTags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: allTags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: allTags
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    workQueueName: workQueueName
    tableNames: [
      stateTable
      depsTable
      outboxTable
    ]
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    workspaceName: 'log-${resourceToken}'
    appInsightsName: 'appi-${resourceToken}'
    dataCollectionRuleName: 'dcr-${resourceToken}'
    location: location
    tags: allTags
    retentionInDays: logRetentionInDays
  }
}

// Roles first: the app's first start needs its storage and ingestion roles.
module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    dataCollectionRuleName: monitoring.outputs.dataCollectionRuleName
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

// Reader on every monitored subscription (a subscription-scope deployment in each).
module readers 'modules/reader.bicep' = [for (subscriptionId, i) in scopeSubscriptionIds: {
  name: 'reader-${resourceToken}-${i}'
  scope: subscription(subscriptionId)
  params: {
    principalId: identity.outputs.principalId
  }
}]

// Compliance changes out (CloudEvents), published by the app's identity.
module complianceEvents 'modules/compliance-events.bicep' = {
  name: 'compliance-events'
  scope: rg
  params: {
    name: 'evgt-changes-${resourceToken}'
    location: location
    tags: allTags
    publisherPrincipalId: identity.outputs.principalId
    webhookUrl: complianceEventsWebhookUrl
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    planName: 'plan-${resourceToken}'
    name: functionAppName
    location: location
    tags: allTags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    appInsightsName: monitoring.outputs.appInsightsName
    logsIngestionEndpoint: monitoring.outputs.logsIngestionEndpoint
    dcrImmutableId: monitoring.outputs.dcrImmutableId
    findingsStream: monitoring.outputs.findingsStream
    runsStream: monitoring.outputs.runsStream
    stateTable: stateTable
    depsTable: depsTable
    outboxTable: outboxTable
    sweepSchedule: sweepSchedule
    scopeSubscriptions: join(scopeSubscriptionIds, ',')
    hubSubscriptions: join(hubSubscriptionIds, ',')
    complianceEventsEndpoint: complianceEvents.outputs.endpoint
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
  dependsOn: [
    rbac
  ]
}

// The topic can exist before the function; its event subscription cannot (postdeploy hook).
module eventGridTopic 'modules/eventgrid-topic.bicep' = {
  name: 'eventgrid-topic'
  scope: rg
  params: {
    name: 'evgt-${resourceToken}'
    tags: allTags
    storageAccountName: storage.outputs.name
    deadLetterContainerName: storage.outputs.deadLetterContainerName
    workspaceId: monitoring.outputs.workspaceId
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    location: location
    tags: allTags
    displayName: 'AKS Compliance Monitor'
    serializedData: loadTextContent('workbook/compliance.workbook.json')
    workspaceId: monitoring.outputs.workspaceId
  }
}

// The rules (and how each resolves) are defined in modules/alerts.bicep.
module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: allTags
    actionGroupName: 'ag-${resourceToken}'
    emailAddresses: alertEmailAddresses
    webhookUrls: alertWebhookUrls
    workspaceId: monitoring.outputs.workspaceId
    workbookId: workbook.outputs.id
    nameSuffix: resourceToken
    productionTagName: productionTagName
    productionTagValue: productionTagValue
    ownerTagName: ownerTagName
    sweepIntervalMinutes: sweepIntervalMinutes
  }
}

// Outputs: names and ids only (azd stores them in .azure/<env>/.env for the hook).
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_ID string = functionApp.outputs.id
output AZURE_FUNCTION_NAME_EVENTS string = 'on_resource_event'
output AZURE_EVENTGRID_SYSTEM_TOPIC_NAME string = eventGridTopic.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_ACCOUNT_ID string = storage.outputs.id
output AZURE_DEADLETTER_CONTAINER_NAME string = storage.outputs.deadLetterContainerName
output AZURE_LOG_ANALYTICS_WORKSPACE_ID string = monitoring.outputs.workspaceId
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output LOGS_INGESTION_ENDPOINT string = monitoring.outputs.logsIngestionEndpoint
output LOGS_DCR_IMMUTABLE_ID string = monitoring.outputs.dcrImmutableId
output SCOPE_SUBSCRIPTIONS string = join(scopeSubscriptionIds, ',')
