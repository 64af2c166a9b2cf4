// AKS Compliance Monitor: everything `azd up` provisions (then azd deploys the code, then
// the postdeploy hook creates the Event Grid subscriptions: eventgrid/subscriptions.bicep).
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

@description('Subscription ids whose Azure Firewalls count as egress firewalls for every cluster (HUB_SUBSCRIPTIONS); Reader and both event topics are deployed in each.')
param hubSubscriptionIds array = []

@description('Existing Microsoft.Resources.Subscriptions system topics to reuse (Azure allows one per subscription), by subscription id: {"<id>": {"name": "...", "resourceGroup": "..."}}.')
param existingResourceTopics object = {}

@description('Existing Microsoft.PolicyInsights.PolicyStates system topics to reuse, by subscription id, as existingResourceTopics.')
param existingPolicyTopics object = {}

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
// Every subscription whose changes can change a verdict: Reader and both system topics in each.
var eventSubscriptionIds = union(scopeSubscriptionIds, hubSubscriptionIds)
// Where the topics of a subscription other than the deployment subscription live (a system topic
// is created in its source's subscription).
var eventsResourceGroupName = 'rg-${environmentName}-events'
var resourcesTopicType = 'Microsoft.Resources.Subscriptions'
var policyTopicType = 'Microsoft.PolicyInsights.PolicyStates'
// One entry per system topic (created, or existing and reused): the modules below deploy them and
// the postdeploy hook subscribes the function to each (output AZURE_EVENTGRID_TOPICS).
var resourceTopicPlan = [for sub in eventSubscriptionIds: {
  subscriptionId: sub
  resourceGroup: contains(existingResourceTopics, sub) ? existingResourceTopics[sub].resourceGroup : ((sub == subscription().subscriptionId) ? resourceGroupName : eventsResourceGroupName)
  name: contains(existingResourceTopics, sub) ? existingResourceTopics[sub].name : 'evgt-${resourceToken}'
  topicType: resourcesTopicType
  reused: contains(existingResourceTopics, sub)
}]
var policyTopicPlan = [for sub in eventSubscriptionIds: {
  subscriptionId: sub
  resourceGroup: contains(existingPolicyTopics, sub) ? existingPolicyTopics[sub].resourceGroup : ((sub == subscription().subscriptionId) ? resourceGroupName : eventsResourceGroupName)
  name: contains(existingPolicyTopics, sub) ? existingPolicyTopics[sub].name : 'evgt-policy-${resourceToken}'
  topicType: policyTopicType
  reused: contains(existingPolicyTopics, sub)
}]

// Names the code binds to (shared/settings.py, functions/worker.py).
var workQueueName = 'compliance-work'
var stateTable = 'ComplianceState'
var depsTable = 'ComplianceDeps'
var outboxTable = 'ComplianceOutbox'
var deploymentContainerName = 'app-package'
var deadLetterContainerName = 'eventgrid-deadletter'
// The Functions host's own blob containers: timer schedules and leases, and the host keys (the
// Event Grid extension's system key). Created by storage.bicep; the host's role covers only them.
var hostContainerNames = [
  'azure-webjobs-hosts'
  'azure-webjobs-secrets'
]

// NCRONTAB (six fields, seconds first); every allowed interval divides an hour or a day.
var sweepSchedule = sweepIntervalMinutes < 60 ? '0 */${sweepIntervalMinutes} * * * *' : (sweepIntervalMinutes < 1440 ? '0 0 */${sweepIntervalMinutes / 60} * * *' : '0 0 0 * * *')

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
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
    hostContainerNames: hostContainerNames
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
    deploymentContainerName: storage.outputs.deploymentContainerName
    hostContainerNames: hostContainerNames
    queueNames: [
      workQueueName
      '${workQueueName}-poison'
    ]
    dataCollectionRuleName: monitoring.outputs.dataCollectionRuleName
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

// Reader on every monitored and hub subscription (a subscription-scope deployment in each): the
// firewall and route checks read the hub's firewalls, the sweep and the events the rest.
module readers 'modules/reader.bicep' = [for (subscriptionId, i) in eventSubscriptionIds: {
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

// The topics can exist before the function; their event subscriptions cannot (postdeploy hook).
// A resource group for them in each other subscription, unless both of its topics are reused.
module eventResourceGroups 'modules/events-rg.bicep' = [for (sub, i) in eventSubscriptionIds: {
  name: 'events-rg-${resourceToken}-${i}'
  scope: subscription(sub)
  params: {
    name: eventsResourceGroupName
    location: location
    tags: allTags
    create: (sub != subscription().subscriptionId) && (!(contains(existingResourceTopics, sub) && contains(existingPolicyTopics, sub)))
  }
}]

module resourceTopics 'modules/system-topic.bicep' = [for (topic, i) in resourceTopicPlan: {
  name: 'topic-resources-${resourceToken}-${i}'
  scope: resourceGroup(topic.subscriptionId, topic.resourceGroup)
  params: {
    name: topic.name
    topicType: topic.topicType
    tags: (topic.reused) ? {} : allTags
    workspaceId: monitoring.outputs.workspaceId
  }
  dependsOn: [
    rg
    eventResourceGroups
  ]
}]

module policyTopics 'modules/system-topic.bicep' = [for (topic, i) in policyTopicPlan: {
  name: 'topic-policy-${resourceToken}-${i}'
  scope: resourceGroup(topic.subscriptionId, topic.resourceGroup)
  params: {
    name: topic.name
    topicType: topic.topicType
    tags: (topic.reused) ? {} : allTags
    workspaceId: monitoring.outputs.workspaceId
  }
  dependsOn: [
    rg
    eventResourceGroups
  ]
}]

// Each topic's identity writes its dead letters to the one container of this resource group.
module deadLetterWriters 'modules/deadletter-writer.bicep' = [for (sub, i) in eventSubscriptionIds: {
  name: 'deadletter-${resourceToken}-${i}'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    deadLetterContainerName: storage.outputs.deadLetterContainerName
    topicIds: [
      resourceTopics[i].outputs.id
      policyTopics[i].outputs.id
    ]
    principalIds: [
      resourceTopics[i].outputs.principalId
      policyTopics[i].outputs.principalId
    ]
  }
}]

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
output AZURE_EVENTGRID_TOPICS array = concat(resourceTopicPlan, policyTopicPlan)
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_ACCOUNT_ID string = storage.outputs.id
output AZURE_DEADLETTER_CONTAINER_NAME string = storage.outputs.deadLetterContainerName
output AZURE_LOG_ANALYTICS_WORKSPACE_ID string = monitoring.outputs.workspaceId
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output LOGS_INGESTION_ENDPOINT string = monitoring.outputs.logsIngestionEndpoint
output LOGS_DCR_IMMUTABLE_ID string = monitoring.outputs.dcrImmutableId
output SCOPE_SUBSCRIPTIONS string = join(scopeSubscriptionIds, ',')
