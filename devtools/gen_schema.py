"""Write infra/schema/tables.json from the code's record schema (Bicep loads it).

The Log Analytics tables, the DCR stream declarations and the KQL checks all read
this one file, and a test fails when it differs from what the code would write, so
the columns can never drift from the records the Function App sends.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.core.settings import Settings
from shared.evaluation.records import FINDING_COLUMNS, RUN_COLUMNS

TARGET = Path(__file__).resolve().parent.parent / "infra" / "schema" / "tables.json"


def schema() -> dict[str, Any]:
    s = Settings()

    def table(stream: str, columns: dict[str, str], description: str) -> dict[str, Any]:
        name = stream.removeprefix("Custom-")
        return {
            "table": f"{name}_CL",
            "stream": stream,
            "outputStream": f"Custom-{name}_CL",
            "description": description,
            "columns": [{"name": k, "type": v} for k, v in columns.items()],
        }

    return {
        "generatedBy": "python -m devtools.gen_schema (do not edit by hand)",
        "findings": table(
            s.logs_findings_stream,
            FINDING_COLUMNS,
            "One row per target x control x evaluation (the finding record of docs/architecture.md).",
        ),
        "runs": table(s.logs_runs_stream, RUN_COLUMNS, "One row per evaluation run, for pipeline health."),
    }


def render() -> str:
    return json.dumps(schema(), indent=2) + "\n"


def main() -> int:
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
