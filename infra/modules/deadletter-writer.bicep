// Dead-lettering with the system topics' own identities: Storage Blob Data Contributor on the
// dead-letter container only, for each topic of one subscription (the topics may live in other
// subscriptions; the container is in this resource group).

@description('Storage account that holds the dead-letter container.')
param storageAccountName string

@description('Dead-letter blob container.')
param deadLetterContainerName string

@description('Resource ids of the system topics (they name the role assignments).')
param topicIds array

@description('Principal ids of the topics\' system-assigned identities, in the order of topicIds.')
param principalIds array

var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

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

resource deadLetterWriters 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (topicId, i) in topicIds: {
  name: guid(deadLetterContainer.id, topicId, storageBlobDataContributor)
  scope: deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: principalIds[i]
    principalType: 'ServicePrincipal'
  }
}]
