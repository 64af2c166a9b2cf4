// One Event Grid subscription from a system topic to the on_resource_event function: resource
// writes, deletes and actions (Microsoft.Resources.Subscriptions) or policy compliance changes
// (Microsoft.PolicyInsights.PolicyStates), with the same delivery, retry and dead-letter policy.
// Deployed by eventgrid/subscriptions.bicep, once per topic, from the azd postdeploy hook
// (hooks/postdeploy.sh) after the code: Event Grid validates an AzureFunction destination when
// the subscription is created, and fails while the function does not exist yet.
// Scope: the resource group that holds the system topic.

@description('Name of the existing system topic.')
param systemTopicName string

@description('What the topic publishes: it decides the event types and filters.')
@allowed([
  'Microsoft.Resources.Subscriptions'
  'Microsoft.PolicyInsights.PolicyStates'
])
param topicType string = 'Microsoft.Resources.Subscriptions'

@description('Resource id of the Function App (Microsoft.Web/sites).')
param functionAppId string

@description('Function with the Event Grid trigger (function_app.py).')
param functionName string = 'on_resource_event'

@description('Resource id of the storage account holding the dead-letter container.')
param deadLetterStorageAccountId string

@description('Blob container for events that could not be delivered.')
param deadLetterContainerName string

@description('Name of the event subscription (default: by topic type).')
param eventSubscriptionName string = ''

// Operations on the resource types whose changes can change a verdict (shared/events.py
// RELEVANT_TYPE_PREFIXES; the code drops everything else too). A trailing '/' makes each
// prefix match the type and its children only ('virtualNetworks/' not 'virtualNetworkGateways').
// Advanced-filter values: 13 here + 1 status = 14 of the 25 Event Grid allows per subscription.
var relevantOperationPrefixes = [
  'Microsoft.ContainerService/managedClusters/'
  'Microsoft.ContainerRegistry/registries/'
  'Microsoft.Network/virtualNetworks/'
  'Microsoft.Network/networkSecurityGroups/'
  'Microsoft.Network/routeTables/'
  'Microsoft.Network/azureFirewalls/'
  'Microsoft.Network/loadBalancers/'
  'Microsoft.Network/publicIPAddresses/'
  'Microsoft.Authorization/roleAssignments/'
  'Microsoft.Authorization/policyAssignments/'
  'Microsoft.Authorization/policySetDefinitions/'
  'Microsoft.Insights/diagnosticSettings/'
  'Microsoft.Security/pricings/'
]

// Resource changes: the operations above, succeeded.
var resourceFilter = {
  includedEventTypes: [
    'Microsoft.Resources.ResourceWriteSuccess'
    'Microsoft.Resources.ResourceDeleteSuccess'
    'Microsoft.Resources.ResourceActionSuccess'
  ]
  enableAdvancedFilteringOnArrays: false
  advancedFilters: [
    {
      operatorType: 'StringBeginsWith'
      key: 'data.operationName'
      values: relevantOperationPrefixes
    }
    {
      operatorType: 'StringIn'
      key: 'data.status'
      values: [
        'Succeeded'
      ]
    }
  ]
}

// Policy compliance changes of the targets (the subject is the evaluated resource's id; Event
// Grid compares strings case-insensitively). AKS.PolicyCompliance reads them.
var policyFilter = {
  includedEventTypes: [
    'Microsoft.PolicyInsights.PolicyStateCreated'
    'Microsoft.PolicyInsights.PolicyStateChanged'
    'Microsoft.PolicyInsights.PolicyStateDeleted'
  ]
  enableAdvancedFilteringOnArrays: false
  advancedFilters: [
    {
      operatorType: 'StringContains'
      key: 'subject'
      values: [
        '/providers/Microsoft.ContainerService/managedClusters/'
        '/providers/Microsoft.ContainerRegistry/registries/'
      ]
    }
  ]
}

var isPolicy = topicType == 'Microsoft.PolicyInsights.PolicyStates'
var defaultName = (isPolicy) ? 'aks-compliance-policy-events' : 'aks-compliance-resource-events'

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource eventSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: (empty(eventSubscriptionName)) ? defaultName : eventSubscriptionName
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/${functionName}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: (isPolicy) ? policyFilter : resourceFilter
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output id string = eventSubscription.id
output name string = eventSubscription.name
