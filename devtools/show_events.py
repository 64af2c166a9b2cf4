"""The story's change events: replay them with the time each took, or print them.

``python -m devtools.show_events [FILE]`` prints the change events of a JSON-lines file (the
notifier's output when no topic is configured).

``python -m devtools.show_events replay EVENTS.json... [replay options]`` runs
``aks-compliance replay`` on each event file in turn, in this one process, and prints how long
each took from the event handed to the event function to its CloudEvents written: parsing,
queueing, the worker's reads (from the folder here, from ARM in Azure), the evaluation, the
Table Storage transaction and the notifier. The goal is under a second per event plus the ARM
reads; the first file also pays the imports of a cold start.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from shared import cli
from shared.core.settings import Settings

GOAL_SECONDS = 1.0


def show(path: str = "out/compliance-events.jsonl") -> int:
    p = Path(path)
    lines = p.read_text(encoding="utf-8").splitlines() if p.exists() else []
    for line in lines:
        event = json.loads(line)
        data = event.get("data", {})
        name = data.get("ResourceName") or str(event.get("subject", "")).rsplit("/", 1)[-1]
        change = f"{data.get('PreviousStatus', '')} -> {data.get('Status', '')}" if data.get("ControlId") else ""
        print(
            f"{event['type']:<32} {name:<18} {data.get('ControlId', ''):<34} {change:<22} by {data.get('ChangedBy') or '-'}"
        )
    print(f"{len(lines)} event(s) in {p}")
    return 0


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0


def replay(argv: list[str]) -> int:
    files = [a for a in argv if a.endswith(".json") and Path(a).is_file()]
    options = [a for a in argv if a not in files]
    published = Settings.from_env().events_file
    timings: list[tuple[str, int, int, float]] = []
    for name in files:
        raw = json.loads(Path(name).read_text(encoding="utf-8"))
        count = len(raw) if isinstance(raw, list) else 1
        before = _lines(published)
        start = time.perf_counter()
        code = cli.main(["replay", name, *options])
        elapsed = time.perf_counter() - start
        if code != 0:
            return code
        timings.append((Path(name).name, count, _lines(published) - before, elapsed))
    print("\n== latency: from each event file handed to the event function to its CloudEvents written")
    wide = max([len("events file"), *(len(t[0]) for t in timings)])
    print(f"{'events file':<{wide}} {'events':>6} {'CloudEvents':>11} {'seconds':>8}")
    for name, count, sent, elapsed in timings:
        print(f"{name:<{wide}} {count:>6} {sent:>11} {elapsed:>8.3f}")
    slowest = max((t for t in timings[1:] if t[2]), key=lambda t: t[3] / t[1], default=None)
    if slowest is not None:
        per_event = slowest[3] / slowest[1]
        verdict = "within" if per_event < GOAL_SECONDS else "over"
        print(
            f"slowest event with a CloudEvent after the first file: {per_event:.3f} s ({slowest[0]}), "
            f"{verdict} the {GOAL_SECONDS:.0f} s goal (documents read from a folder; add the ARM reads in Azure)"
        )
    return 0


def main(argv: list[str]) -> int:
    if argv and argv[0] == "replay":
        return replay(argv[1:])
    return show(*argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
