# azd postdeploy hook (Windows): same as postdeploy.sh. Creates (or updates) the Event Grid
# subscriptions from every system topic main.bicep deployed (both topics of every monitored and
# hub subscription) to the on_resource_event function, once the code is deployed and the
# function indexed. Needs the Azure CLI, signed in; re-running it changes nothing.
$ErrorActionPreference = 'Stop'

foreach ($name in 'AZURE_SUBSCRIPTION_ID', 'AZURE_LOCATION', 'AZURE_FUNCTION_APP_ID', 'AZURE_EVENTGRID_TOPICS',
    'AZURE_STORAGE_ACCOUNT_ID', 'AZURE_DEADLETTER_CONTAINER_NAME') {
    if (-not [Environment]::GetEnvironmentVariable($name)) {
        throw "postdeploy: $name is not set (set by azd or an output of infra/main.bicep; run azd provision first)"
    }
}
if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
    throw 'postdeploy: the Azure CLI (az) is required to create the Event Grid subscriptions'
}

# Signed out, expired or in another tenant: say so now, with az's own message.
az account show --only-show-errors --output none
if ($LASTEXITCODE -ne 0) { throw 'postdeploy: the Azure CLI is not signed in (see above): run az login, then azd hooks run postdeploy' }

$template = Join-Path $PSScriptRoot '..' 'eventgrid' 'subscriptions.bicep'
$functionName = if ($env:AZURE_FUNCTION_NAME_EVENTS) { $env:AZURE_FUNCTION_NAME_EVENTS } else { 'on_resource_event' }
$attempts = if ($env:EVENTGRID_WAIT_ATTEMPTS) { [int]$env:EVENTGRID_WAIT_ATTEMPTS } else { 30 }
$functionId = "$($env:AZURE_FUNCTION_APP_ID)/functions/$functionName"

# Only "not found" means "not yet"; any other error stops here with az's message.
for ($i = 1; ; $i++) {
    $out = az rest --method get --only-show-errors --output none --url "$functionId`?api-version=2024-04-01" 2>&1
    if ($LASTEXITCODE -eq 0) { break }
    $text = ($out | Out-String)
    if ($text -notmatch 'Not Found|NotFound') {
        Write-Host $text
        throw "postdeploy: reading $functionId failed (above); fix it, then re-run: azd hooks run postdeploy"
    }
    if ($i -ge $attempts) {
        Write-Host $text
        throw "postdeploy: $functionName is not listed on $($env:AZURE_FUNCTION_APP_ID) after $attempts tries; check the deployment logs, then re-run: azd hooks run postdeploy"
    }
    Write-Host "postdeploy: waiting for $functionName to be indexed ($i/$attempts)"
    Start-Sleep -Seconds 10
}

# The topics list is JSON (azd stores array outputs as JSON): hand it over in a parameters file.
$params = New-TemporaryFile
try {
    $doc = @{
        '$schema'      = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#'
        contentVersion = '1.0.0.0'
        parameters     = @{
            topics                     = @{ value = @(ConvertFrom-Json $env:AZURE_EVENTGRID_TOPICS) }
            functionAppId              = @{ value = $env:AZURE_FUNCTION_APP_ID }
            functionName               = @{ value = $functionName }
            deadLetterStorageAccountId = @{ value = $env:AZURE_STORAGE_ACCOUNT_ID }
            deadLetterContainerName    = @{ value = $env:AZURE_DEADLETTER_CONTAINER_NAME }
        }
    }
    [IO.File]::WriteAllText($params, ($doc | ConvertTo-Json -Depth 10))
    Write-Host "postdeploy: subscribing $functionName to every system topic of AZURE_EVENTGRID_TOPICS"
    az deployment sub create --only-show-errors `
        --subscription $env:AZURE_SUBSCRIPTION_ID `
        --location $env:AZURE_LOCATION `
        --name aks-compliance-eventgrid-subscriptions `
        --template-file $template `
        --parameters "@$params" `
        --output none
    if ($LASTEXITCODE -ne 0) { throw 'postdeploy: az deployment sub create failed' }
} finally {
    Remove-Item $params -ErrorAction SilentlyContinue
}
Write-Host 'postdeploy: done (check it: aks-compliance doctor)'
