// One Event Grid system topic of a monitored or hub subscription: Microsoft.Resources.Subscriptions
// (resource writes, deletes and actions) or Microsoft.PolicyInsights.PolicyStates (policy
// compliance changes), with a system-assigned identity that writes dead letters, and its
// delivery-failure logs sent to the workspace. The event subscriptions to the function are
// created after the code is deployed (eventgrid/subscriptions.bicep, from the postdeploy hook):
// Event Grid refuses an AzureFunction destination whose function does not exist yet.
//
// Azure allows one system topic per source and topic type. Where the subscription already has
// one (often `Default-EventGrid`), main.bicep deploys this module into that topic's resource
// group with its name (existingResourceTopics / existingPolicyTopics): the same name, source and
// type re-declare the topic in place, and this module adds the identity and the log setting.
// Its other event subscriptions are child resources and stay as they are.

@description('System topic name (an existing topic of this subscription is re-declared by its name).')
param name string

@description('What the topic publishes.')
@allowed([
  'Microsoft.Resources.Subscriptions'
  'Microsoft.PolicyInsights.PolicyStates'
])
param topicType string

@description('Tags for the topic.')
param tags object = {}

@description('Log Analytics workspace for the topic delivery-failure logs.')
param workspaceId string

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: name
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: topicType
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
