// Reader on one monitored subscription for the Function App identity: the sweep lists
// clusters, registries and their context with Resource Graph and ARM reads. Deployed by
// main.bicep once per monitored subscription with `scope: subscription(id)`.
targetScope = 'subscription'

@description('Principal (object) id of the Function App identity.')
param principalId string

var readerRoleId = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, readerRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'AKS Compliance Monitor: read the estate to evaluate the security baseline.'
  }
}
