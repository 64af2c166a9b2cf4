# azd postdeploy hook (Windows): same as postdeploy.sh. Creates (or updates) the Event
# Grid subscription from the subscription's system topic to the on_resource_event
# function, once the code is deployed and the function indexed. Needs the Azure CLI.
$ErrorActionPreference = 'Stop'

foreach ($name in 'AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_FUNCTION_APP_ID',
    'AZURE_EVENTGRID_SYSTEM_TOPIC_NAME', 'AZURE_STORAGE_ACCOUNT_ID', 'AZURE_DEADLETTER_CONTAINER_NAME') {
    if (-not [Environment]::GetEnvironmentVariable($name)) {
        throw "postdeploy: $name is not set (an output of infra/main.bicep; run azd provision first)"
    }
}
if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
    throw 'postdeploy: the Azure CLI (az) is required to create the Event Grid subscription'
}

$template = Join-Path $PSScriptRoot '..' 'eventgrid' 'subscription.bicep'
$functionName = if ($env:AZURE_FUNCTION_NAME_EVENTS) { $env:AZURE_FUNCTION_NAME_EVENTS } else { 'on_resource_event' }
$attempts = if ($env:EVENTGRID_WAIT_ATTEMPTS) { [int]$env:EVENTGRID_WAIT_ATTEMPTS } else { 30 }
$functionId = "$($env:AZURE_FUNCTION_APP_ID)/functions/$functionName"

for ($i = 1; ; $i++) {
    az rest --method get --only-show-errors --output none --url "$functionId`?api-version=2024-04-01" 2>$null
    if ($LASTEXITCODE -eq 0) { break }
    if ($i -ge $attempts) {
        throw "postdeploy: $functionName is not listed on $($env:AZURE_FUNCTION_APP_ID) after $attempts tries; check the deployment logs, then re-run: azd hooks run postdeploy"
    }
    Write-Host "postdeploy: waiting for $functionName to be indexed ($i/$attempts)"
    Start-Sleep -Seconds 10
}

Write-Host "postdeploy: creating the Event Grid subscription on $($env:AZURE_EVENTGRID_SYSTEM_TOPIC_NAME) -> $functionName"
az deployment group create --only-show-errors `
    --subscription $env:AZURE_SUBSCRIPTION_ID `
    --resource-group $env:AZURE_RESOURCE_GROUP `
    --name aks-compliance-eventgrid-subscription `
    --template-file $template `
    --parameters systemTopicName=$($env:AZURE_EVENTGRID_SYSTEM_TOPIC_NAME) `
        functionAppId=$($env:AZURE_FUNCTION_APP_ID) `
        functionName=$functionName `
        deadLetterStorageAccountId=$($env:AZURE_STORAGE_ACCOUNT_ID) `
        deadLetterContainerName=$($env:AZURE_DEADLETTER_CONTAINER_NAME) `
    --output none
if ($LASTEXITCODE -ne 0) { throw 'postdeploy: az deployment group create failed' }
Write-Host 'postdeploy: done'
