#!/bin/sh
# azd postdeploy hook: create (or update) the Event Grid subscriptions from every system topic
# main.bicep deployed (both topics of every monitored and hub subscription, created or reused)
# to the on_resource_event function.
#
# It runs after `azd deploy` because Event Grid validates an AzureFunction destination when
# the subscription is created: before the code is deployed and indexed, ARM fails with
# "Destination endpoint not found". azd passes the outputs of infra/main.bicep as environment
# variables. Needs the Azure CLI, signed in to the same tenant (`az login`). Re-running it
# changes nothing; run it alone with `azd hooks run postdeploy`.
set -eu

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
template="$here/../eventgrid/subscriptions.bicep"

: "${AZURE_SUBSCRIPTION_ID:?set by azd}"
: "${AZURE_LOCATION:?set by azd}"
: "${AZURE_FUNCTION_APP_ID:?output of infra/main.bicep; run azd provision first}"
: "${AZURE_EVENTGRID_TOPICS:?output of infra/main.bicep; run azd provision first}"
: "${AZURE_STORAGE_ACCOUNT_ID:?output of infra/main.bicep}"
: "${AZURE_DEADLETTER_CONTAINER_NAME:?output of infra/main.bicep}"
function_name="${AZURE_FUNCTION_NAME_EVENTS:-on_resource_event}"
attempts="${EVENTGRID_WAIT_ATTEMPTS:-30}"

if ! command -v az >/dev/null 2>&1; then
    echo "postdeploy: the Azure CLI (az) is required to create the Event Grid subscriptions" >&2
    exit 1
fi

# Signed out, expired or in another tenant: say so now, with az's own message.
if ! az account show --only-show-errors --output none; then
    echo "postdeploy: the Azure CLI is not signed in (see above): run az login, then azd hooks run postdeploy" >&2
    exit 1
fi

# Wait until the host has indexed the function (a Flex deployment takes a moment). Only
# "not found" means "not yet"; any other error (permissions, network, a wrong id) stops here
# with az's message. A relative URL is resolved against the current cloud's ARM endpoint.
function_id="$AZURE_FUNCTION_APP_ID/functions/$function_name"
i=0
while :; do
    if out=$(az rest --method get --only-show-errors --output none \
        --url "$function_id?api-version=2024-04-01" 2>&1); then
        break
    fi
    case "$out" in
    *"Not Found"* | *NotFound*) ;;
    *)
        echo "$out" >&2
        echo "postdeploy: reading $function_id failed (above); fix it, then re-run: azd hooks run postdeploy" >&2
        exit 1
        ;;
    esac
    i=$((i + 1))
    if [ "$i" -ge "$attempts" ]; then
        echo "$out" >&2
        echo "postdeploy: $function_name is not listed on $AZURE_FUNCTION_APP_ID after $attempts tries;" \
            "check the deployment logs, then re-run: azd hooks run postdeploy" >&2
        exit 1
    fi
    echo "postdeploy: waiting for $function_name to be indexed ($i/$attempts)"
    sleep 10
done

# The topics list is JSON (azd stores array outputs as JSON): hand it over in a parameters file.
params=$(mktemp)
trap 'rm -f "$params"' EXIT
cat >"$params" <<JSON
{
  "\$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "topics": {"value": $AZURE_EVENTGRID_TOPICS},
    "functionAppId": {"value": "$AZURE_FUNCTION_APP_ID"},
    "functionName": {"value": "$function_name"},
    "deadLetterStorageAccountId": {"value": "$AZURE_STORAGE_ACCOUNT_ID"},
    "deadLetterContainerName": {"value": "$AZURE_DEADLETTER_CONTAINER_NAME"}
  }
}
JSON

echo "postdeploy: subscribing $function_name to every system topic of AZURE_EVENTGRID_TOPICS"
az deployment sub create \
    --only-show-errors \
    --subscription "$AZURE_SUBSCRIPTION_ID" \
    --location "$AZURE_LOCATION" \
    --name aks-compliance-eventgrid-subscriptions \
    --template-file "$template" \
    --parameters "@$params" \
    --output none
echo "postdeploy: done (check it: aks-compliance doctor)"
