"""Print the change events of a JSON-lines file (the notifier's output when no topic is configured)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(path: str = "out/compliance-events.jsonl") -> int:
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


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
