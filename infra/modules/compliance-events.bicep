// Compliance changes out: an Event Grid custom topic for the CloudEvents the Function App
// publishes (AksCompliance.ControlRegressed / ControlRemediated / TargetDeleted), with local
// (key) auth disabled so only Entra ID identities can publish: the app's identity holds
// EventGrid Data Sender on this topic and nothing else. An example subscription forwards
// every event to a webhook (a Logic App, Teams workflow or paging tool) when one is given.

@description('Custom topic name.')
param name string

@description('Region of the topic.')
param location string

@description('Tags for the topic.')
param tags object = {}

@description('Principal id of the Function App identity (publishes the events).')
param publisherPrincipalId string

@description('Optional webhook for an example subscription (empty: none).')
param webhookUrl string = ''

var eventGridDataSender = 'd5a91429-5739-47e2-a06b-3470a27159e7'

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  // An identity of its own, for delivery to Entra-protected destinations (none are used yet).
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled' // checkov:skip=CKV_AZURE_193: the Flex app publishes over the public endpoint with Entra ID; local auth is off
  }
}

resource sender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, publisherPrincipalId, eventGridDataSender)
  scope: topic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSender)
    principalId: publisherPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Example: route every compliance change to a webhook. docs/deploy.md shows how to narrow it
// (e.g. only High regressions: advanced filters on type and data.Severity).
resource example 'Microsoft.EventGrid/topics/eventSubscriptions@2025-02-15' = if (!empty(webhookUrl)) {
  parent: topic
  name: 'compliance-changes-webhook'
  properties: {
    eventDeliverySchema: 'CloudEventSchemaV1_0'
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: webhookUrl
      }
    }
    filter: {
      includedEventTypes: [
        'AksCompliance.ControlRegressed'
        'AksCompliance.ControlRemediated'
        'AksCompliance.TargetDeleted'
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output id string = topic.id
output endpoint string = topic.properties.endpoint
