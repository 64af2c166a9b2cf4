// The subscription's Event Grid system topic (Microsoft.Resources.Subscriptions) with a
// system-assigned identity, allowed to write dead letters to one blob container. The
// event subscription to the function is created after the code is deployed
// (eventgrid/subscription.bicep, from the azd postdeploy hook): Event Grid refuses an
// AzureFunction destination whose function does not exist yet.
//
// Azure allows one system topic per source: if this subscription already has one
// (e.g. in Default-EventGrid), deploy into that topic's resource group and pass its name.

@description('System topic name.')
param name string

@description('Tags for the topic.')
param tags object = {}

@description('Storage account that holds the dead-letter container.')
param storageAccountName string

@description('Dead-letter blob container.')
param deadLetterContainerName string

@description('Log Analytics workspace for the topic delivery-failure logs.')
param workspaceId string

var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: name
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deadLetterContainerName
}

// Dead-lettering with the topic's identity: Storage Blob Data Contributor on the
// dead-letter container only.
resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, topic.id, storageBlobDataContributor)
  scope: deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Failed deliveries to the function show up in the workspace.
resource topicDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: topic
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'DeliveryFailures'
        enabled: true
      }
    ]
  }
}

output id string = topic.id
output name string = topic.name
output principalId string = topic.identity.principalId
