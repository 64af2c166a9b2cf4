#!/bin/sh
# azd postdeploy hook: create (or update) the Event Grid subscription from the
# subscription's system topic to the on_resource_event function.
#
# It runs after `azd deploy` because Event Grid validates an AzureFunction destination
# when the subscription is created: before the code is deployed and indexed, ARM fails
# with "Destination endpoint not found". azd passes the outputs of infra/main.bicep as
# environment variables. Needs the Azure CLI, signed in to the same tenant (`az login`).
set -eu

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
template="$here/../eventgrid/subscription.bicep"

: "${AZURE_SUBSCRIPTION_ID:?set by azd}"
: "${AZURE_RESOURCE_GROUP:?output of infra/main.bicep; run azd provision first}"
: "${AZURE_FUNCTION_APP_ID:?output of infra/main.bicep}"
: "${AZURE_EVENTGRID_SYSTEM_TOPIC_NAME:?output of infra/main.bicep}"
: "${AZURE_STORAGE_ACCOUNT_ID:?output of infra/main.bicep}"
: "${AZURE_DEADLETTER_CONTAINER_NAME:?output of infra/main.bicep}"
function_name="${AZURE_FUNCTION_NAME_EVENTS:-on_resource_event}"
attempts="${EVENTGRID_WAIT_ATTEMPTS:-30}"

if ! command -v az >/dev/null 2>&1; then
    echo "postdeploy: the Azure CLI (az) is required to create the Event Grid subscription" >&2
    exit 1
fi

# Wait until the host has indexed the function (a Flex deployment takes a moment).
# A relative URL is resolved against the current cloud's ARM endpoint.
function_id="$AZURE_FUNCTION_APP_ID/functions/$function_name"
i=0
until az rest --method get --only-show-errors --output none \
    --url "$function_id?api-version=2024-04-01" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -ge "$attempts" ]; then
        echo "postdeploy: $function_name is not listed on $AZURE_FUNCTION_APP_ID after $attempts tries;" \
            "check the deployment logs, then re-run: azd hooks run postdeploy" >&2
        exit 1
    fi
    echo "postdeploy: waiting for $function_name to be indexed ($i/$attempts)"
    sleep 10
done

echo "postdeploy: creating the Event Grid subscription on $AZURE_EVENTGRID_SYSTEM_TOPIC_NAME -> $function_name"
az deployment group create \
    --only-show-errors \
    --subscription "$AZURE_SUBSCRIPTION_ID" \
    --resource-group "$AZURE_RESOURCE_GROUP" \
    --name aks-compliance-eventgrid-subscription \
    --template-file "$template" \
    --parameters \
        systemTopicName="$AZURE_EVENTGRID_SYSTEM_TOPIC_NAME" \
        functionAppId="$AZURE_FUNCTION_APP_ID" \
        functionName="$function_name" \
        deadLetterStorageAccountId="$AZURE_STORAGE_ACCOUNT_ID" \
        deadLetterContainerName="$AZURE_DEADLETTER_CONTAINER_NAME" \
    --output none
echo "postdeploy: done"
