// The compliance workbook (Azure Monitor Workbooks), bound to the Log Analytics workspace.
// Its JSON is kept in infra/workbook/compliance.workbook.json and embedded by main.bicep.

@description('Azure region.')
param location string

@description('Tags for the workbook.')
param tags object = {}

@description('Display name shown in Azure Monitor > Workbooks.')
param displayName string

@description('The workbook JSON (serializedData), with the workspace id already filled in.')
param serializedData string

@description('Resource id of the Log Analytics workspace the workbook queries.')
param workspaceId string

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A deterministic GUID, so that re-deployments update the same workbook.
  name: guid(resourceGroup().id, workspaceId, 'aks-compliance-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    version: 'Notebook/1.0'
    serializedData: serializedData
    sourceId: workspaceId
  }
}

output id string = workbook.id
output name string = workbook.name
