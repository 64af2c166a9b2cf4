// Log Analytics workspace, workspace-based Application Insights, the two custom tables
// and the data collection rule the Function App sends its records through (Logs
// Ingestion API). Columns and stream names come from schema/tables.json, which
// `python -m devtools.gen_schema` writes from the code's record schema: never retype them.

@description('Log Analytics workspace name.')
param workspaceName string

@description('Application Insights component name.')
param appInsightsName string

@description('Data collection rule name.')
param dataCollectionRuleName string

@description('Azure region (the DCR must be in the workspace region).')
param location string

@description('Tags for the resources.')
param tags object = {}

@description('Days the workspace and the custom tables keep data (interactive retention).')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

var schema = loadJsonContent('../schema/tables.json')
var destinationName = 'complianceWorkspace'

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-07-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      // Only Entra ID callers (Logs Ingestion through the DCR, App Insights, queries).
      disableLocalAuth: true
      enableLogAccessUsingOnlyResourcePermissions: true
    }
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    // Telemetry is accepted only with an Entra ID token (the app's managed identity
    // holds Monitoring Metrics Publisher on this component).
    DisableLocalAuth: true
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

// Column types come from the record schema ('datetime', 'boolean', 'dynamic', 'int',
// 'long', 'real', 'string'); the tables API accepts them case-insensitively.
resource findingsTable 'Microsoft.OperationalInsights/workspaces/tables@2025-07-01' = {
  parent: workspace
  name: schema.findings.table
  properties: {
    plan: 'Analytics'
    retentionInDays: retentionInDays
    schema: {
      name: schema.findings.table
      description: schema.findings.description
      columns: schema.findings.columns
    }
  }
}

resource runsTable 'Microsoft.OperationalInsights/workspaces/tables@2025-07-01' = {
  parent: workspace
  name: schema.runs.table
  properties: {
    plan: 'Analytics'
    retentionInDays: retentionInDays
    schema: {
      name: schema.runs.table
      description: schema.runs.description
      columns: schema.runs.columns
    }
  }
}

// kind 'Direct': the DCR gets its own logs ingestion endpoint (no DCE needed).
resource dcr 'Microsoft.Insights/dataCollectionRules@2023-03-11' = {
  name: dataCollectionRuleName
  location: location
  tags: tags
  kind: 'Direct'
  properties: {
    description: 'Compliance findings and runs from the AKS Compliance Monitor Function App.'
    streamDeclarations: {
      '${schema.findings.stream}': {
        columns: schema.findings.columns
      }
      '${schema.runs.stream}': {
        columns: schema.runs.columns
      }
    }
    destinations: {
      logAnalytics: [
        {
          name: destinationName
          workspaceResourceId: workspace.id
        }
      ]
    }
    dataFlows: [
      {
        streams: [
          schema.findings.stream
        ]
        destinations: [
          destinationName
        ]
        transformKql: 'source'
        outputStream: schema.findings.outputStream
      }
      {
        streams: [
          schema.runs.stream
        ]
        destinations: [
          destinationName
        ]
        transformKql: 'source'
        outputStream: schema.runs.outputStream
      }
    ]
  }
  dependsOn: [
    findingsTable
    runsTable
  ]
}

output workspaceId string = workspace.id
output workspaceName string = workspace.name
output workspaceCustomerId string = workspace.properties.customerId
output appInsightsName string = appInsights.name
output dataCollectionRuleId string = dcr.id
output dataCollectionRuleName string = dcr.name
output dcrImmutableId string = dcr.properties.immutableId
output logsIngestionEndpoint string = dcr.properties.endpoints.logsIngestion
output findingsStream string = schema.findings.stream
output runsStream string = schema.runs.stream
