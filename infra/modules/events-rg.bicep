// The resource group that holds the system topics of a monitored or hub subscription other than
// the deployment subscription (a system topic lives in its source's subscription). Not created
// where both of the subscription's topics are existing ones, reused where they are.
targetScope = 'subscription'

@description('Resource group name.')
param name string

@description('Azure region of the resource group (its topics are global).')
param location string

@description('Tags for the resource group.')
param tags object = {}

@description('False where nothing of this deployment lives in it.')
param create bool = true

resource eventsGroup 'Microsoft.Resources/resourceGroups@2025-04-01' = if (create) {
  name: name
  location: location
  tags: tags
}
