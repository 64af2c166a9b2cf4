#!/bin/sh
# The event story of `make run`, against the Azurite that devtools.azurite started.
set -eu
BIN=.venv/bin
WORK=out/story-estate
rm -rf "$WORK" out/compliance-logs.jsonl
mkdir -p out
cp -r examples/estate "$WORK"

echo; echo "== scan: every target of the sample estate, recorded in Table Storage"
$BIN/aks-compliance scan --source "$WORK"

echo; echo "== replay: the story in examples/events (the estate changes between events)"
$BIN/aks-compliance replay examples/events/*.json --source "$WORK" --changes examples/events/changes

echo; echo "== state: what Table Storage holds now (failing first)"
$BIN/aks-compliance state

echo; echo "== history: every status change, newest first, with who made it"
$BIN/aks-compliance history
