// Flex Consumption plan (FC1) and the Function App (Python 3.11, Linux), running as the
// user-assigned identity. Every connection is identity-based: the settings below hold
// service URIs, client ids and ids of Azure resources, never a key, SAS or connection
// string with a secret.

@description('Flex Consumption plan name.')
param planName string

@description('Function App name.')
param name string

@description('Azure region.')
param location string

@description('Tags for the resources (the app also gets azd-service-name).')
param tags object = {}

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Storage account endpoints (primaryEndpoints.blob/queue/table).')
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string

@description('Blob container the app package is deployed to.')
param deploymentContainerName string

@description('Application Insights component (existing, in this resource group).')
param appInsightsName string

@description('Logs Ingestion: the DCR endpoint, immutable id and stream names.')
param logsIngestionEndpoint string
param dcrImmutableId string
param findingsStream string
param runsStream string

@description('Results tables.')
param stateTable string
param depsTable string
param outboxTable string

@description('NCRONTAB schedule of the sweep (the timer trigger reads %SWEEP_SCHEDULE%).')
param sweepSchedule string

@description('Monitored subscription ids, comma-separated (SCOPE_SUBSCRIPTIONS).')
param scopeSubscriptions string

@description('Hub subscription ids whose firewalls count as egress firewalls, comma-separated.')
param hubSubscriptions string = ''

@description('Endpoint of the custom topic for compliance change events (empty: events go nowhere).')
param complianceEventsEndpoint string = ''

@description('Maximum instances of the Flex plan.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Instance memory of the Flex plan, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// The Functions host binds the connection prefix named in the code: connection="ComplianceStorage".
var storagePrefix = 'ComplianceStorage'

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    // checkov:skip=CKV_AZURE_225: zone redundancy of Flex Consumption exists only in some regions; a zone outage delays evaluations (Event Grid retries, the queue and the sweep catch up) without losing state, which lives in storage.
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    // checkov:skip=CKV_AZURE_222: Event Grid delivers to the on_resource_event function over the app's public endpoint (it cannot reach a private endpoint of a Function App); the endpoint is authenticated with the Event Grid extension's system key.
    // checkov:skip=CKV_AZURE_17: no client certificates: Event Grid, the only HTTP caller, does not present one; the app serves no HTTP API of its own.
    // checkov:skip=CKV_AZURE_212: Flex Consumption scales out per event and queue length from zero; a missed instance only delays work (Event Grid retries for 24 h, the queue keeps its messages, the sweep catches up). Always-ready instances would bill around the clock.
    // checkov:skip=CKV_AZURE_78: FTP is off through the ftp basicPublishingCredentialsPolicies resource below (allow false); Flex Consumption rejects siteConfig.ftpsState, the property this check reads.
    // checkov:skip=CKV_AZURE_213: App Service health check does not apply to Flex Consumption (no HTTP endpoint to probe); the pipeline-silent and evaluation-errors alerts watch the app instead.
    serverFarmId: plan.id
    httpsOnly: true
    // Flex Consumption rejects ftpsState, alwaysOn, use32BitWorkerProcess and the other site
    // properties of the "Flex Consumption plan deprecations" list (ARM error 51021); FTP and
    // SCM basic-auth publishing are switched off below instead.
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
      appSettings: [
        // Host storage, with the managed identity.
        {
          name: 'AzureWebJobsStorage__blobServiceUri'
          value: blobEndpoint
        }
        {
          name: 'AzureWebJobsStorage__queueServiceUri'
          value: queueEndpoint
        }
        {
          name: 'AzureWebJobsStorage__tableServiceUri'
          value: tableEndpoint
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identityClientId
        }
        // Results storage and the work queue (the queue trigger's connection prefix).
        {
          name: '${storagePrefix}__tableServiceUri'
          value: tableEndpoint
        }
        {
          name: '${storagePrefix}__queueServiceUri'
          value: queueEndpoint
        }
        {
          name: '${storagePrefix}__credential'
          value: 'managedidentity'
        }
        {
          name: '${storagePrefix}__clientId'
          value: identityClientId
        }
        {
          name: 'COMPLIANCE_STATE_TABLE'
          value: stateTable
        }
        {
          name: 'COMPLIANCE_DEPS_TABLE'
          value: depsTable
        }
        {
          name: 'COMPLIANCE_OUTBOX_TABLE'
          value: outboxTable
        }
        // DefaultAzureCredential picks the user-assigned identity by this client id.
        {
          name: 'AZURE_CLIENT_ID'
          value: identityClientId
        }
        // ARM and the Entra authority of the cloud the app is deployed to (sovereign clouds).
        {
          name: 'ARM_ENDPOINT'
          value: environment().resourceManager
        }
        {
          name: 'AZURE_AUTHORITY_HOST'
          value: environment().authentication.loginEndpoint
        }
        {
          name: 'SWEEP_SCHEDULE'
          value: sweepSchedule
        }
        {
          name: 'SCOPE_SUBSCRIPTIONS'
          value: scopeSubscriptions
        }
        {
          name: 'HUB_SUBSCRIPTIONS'
          value: hubSubscriptions
        }
        // Logs Ingestion API through the DCR's own endpoint (kind Direct).
        // Compliance change events out (CloudEvents, Entra ID auth with the app identity).
        {
          name: 'COMPLIANCE_EVENTS_ENDPOINT'
          value: complianceEventsEndpoint
        }
        {
          name: 'LOGS_INGESTION_ENDPOINT'
          value: logsIngestionEndpoint
        }
        {
          name: 'LOGS_DCR_IMMUTABLE_ID'
          value: dcrImmutableId
        }
        {
          name: 'LOGS_FINDINGS_STREAM'
          value: findingsStream
        }
        {
          name: 'LOGS_RUNS_STREAM'
          value: runsStream
        }
        // Not a secret: an Application Insights connection string holds the instrumentation
        // key (an identifier, not a credential) and the ingestion endpoints. With local auth
        // disabled on the component, telemetry is accepted only with the Entra ID token
        // that the authentication string below tells the SDK to obtain.
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identityClientId};Authorization=AAD'
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Basic-auth (user name and password) publishing off for FTP and for the SCM/Kudu endpoint:
// deployments use Entra ID only (azd deploys with the signed-in identity; the app reads its
// package from blob storage with its managed identity).
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output id string = functionApp.id
output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
