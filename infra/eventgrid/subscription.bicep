// The Event Grid subscription from the subscription's system topic to the
// on_resource_event function. Deployed by the azd postdeploy hook (hooks/postdeploy.sh)
// after the code: Event Grid validates an AzureFunction destination when the
// subscription is created, and fails while the function does not exist yet.
// Scope: the resource group that holds the system topic (main.bicep's).

@description('Name of the existing system topic (Microsoft.Resources.Subscriptions).')
param systemTopicName string

@description('Resource id of the Function App (Microsoft.Web/sites).')
param functionAppId string

@description('Function with the Event Grid trigger (function_app.py).')
param functionName string = 'on_resource_event'

@description('Resource id of the storage account holding the dead-letter container.')
param deadLetterStorageAccountId string

@description('Blob container for events that could not be delivered.')
param deadLetterContainerName string

@description('Name of the event subscription.')
param eventSubscriptionName string = 'aks-compliance-resource-events'

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

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource eventSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: eventSubscriptionName
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
    filter: {
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
