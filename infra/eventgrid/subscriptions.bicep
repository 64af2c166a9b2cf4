// The event subscriptions of every system topic main.bicep deployed (its output
// AZURE_EVENTGRID_TOPICS: the topics of every monitored and hub subscription, created or reused),
// to the on_resource_event function. Run by the azd postdeploy hook after the code is deployed,
// at the deployment subscription's scope; each subscription lands in its topic's resource group,
// in whatever subscription that is. Re-running it changes nothing (same names, same properties):
// a subscription added to the lists is subscribed by `azd up` (provision, deploy, this hook).
targetScope = 'subscription'

@description('The system topics: [{subscriptionId, resourceGroup, name, topicType}] (main.bicep output AZURE_EVENTGRID_TOPICS).')
param topics array

@description('Resource id of the Function App (Microsoft.Web/sites).')
param functionAppId string

@description('Function with the Event Grid trigger (function_app.py).')
param functionName string = 'on_resource_event'

@description('Resource id of the storage account holding the dead-letter container.')
param deadLetterStorageAccountId string

@description('Blob container for events that could not be delivered.')
param deadLetterContainerName string

module eventSubscriptions 'subscription.bicep' = [for (topic, i) in topics: {
  name: 'aks-compliance-events-${i}'
  scope: resourceGroup(topic.subscriptionId, topic.resourceGroup)
  params: {
    systemTopicName: topic.name
    topicType: topic.topicType
    functionAppId: functionAppId
    functionName: functionName
    deadLetterStorageAccountId: deadLetterStorageAccountId
    deadLetterContainerName: deadLetterContainerName
  }
}]
