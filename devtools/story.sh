#!/bin/sh
# The event story of `make run`, against the Azurite that devtools.azurite started.
# Reads are stamped at the story's own times (the events happened on 2026-11-27), so the
# story plays out the same whatever today's date is.
set -eu
BIN=.venv/bin
WORK=out/story-estate
rm -rf "$WORK" out/compliance-logs.jsonl out/compliance-events.jsonl
mkdir -p out
cp -r examples/estate "$WORK"

echo; echo "== scan: every target of the sample estate, recorded in Table Storage"
$BIN/aks-compliance scan --source "$WORK" --read-time 2026-11-27T08:00:00Z --fail-on none

echo; echo "== replay: the story of examples/events (the estate changes between events)"
$BIN/python -m devtools.show_events replay examples/events/*.json --source "$WORK" --changes examples/events/changes --at-event-time

echo; echo "== state: what Table Storage holds now (failing first)"
$BIN/aks-compliance state

echo; echo "== history: every status change after the first scan, newest first, with who made it"
$BIN/aks-compliance history --changes-only

echo; echo "== report: the HTML report, with the score over time and the regressions from Table Storage"
$BIN/aks-compliance report --from-store --out out/report.html

echo; echo "== change events: one CloudEvent per status change (no topic configured: out/compliance-events.jsonl)"
$BIN/python -m devtools.show_events out/compliance-events.jsonl
