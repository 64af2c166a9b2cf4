"""The documents in docs/ say what the code does: the record contract and the layers."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from shared.core.model import FINDING_FIELDS
from shared.evaluation.records import FINDING_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
_TYPES = {"datetime": "datetime", "boolean": "boolean", "dynamic": "dynamic", "string": "string"}


def _record_table() -> dict[str, str]:
    section = ARCHITECTURE.split("**The finding record**", 1)[1].split("**The run record**", 1)[0]
    return {
        m.group(1): m.group(2) for m in re.finditer(r"^\| (\w+) \| (\w+) \|", section, re.M) if m.group(1) != "field"
    }


def test_the_finding_record_table_lists_every_field_in_order_with_its_column_type() -> None:
    table = _record_table()
    assert tuple(table) == FINDING_FIELDS
    assert {name: _TYPES[kind] for name, kind in table.items()} == FINDING_COLUMNS


def test_the_layers_in_the_document_are_the_layers_lint_imports_enforces() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    layers = next(c for c in contracts["contracts"] if c["type"] == "layers")["layers"]
    packages = [p.strip() for layer in layers for p in layer.split("|")]
    documented = re.findall(r"^\| [a-z ]+ \| `(shared\.\w+)` \|", ARCHITECTURE, re.M)
    assert sorted(documented) == sorted(packages)
    assert all((ROOT / p.replace(".", "/") / "__init__.py").exists() for p in packages)


def test_no_code_or_doc_points_outside_the_repository() -> None:
    outside = re.compile(r"DESIGN\.md|\.\./shared/")
    found = [
        str(path.relative_to(ROOT))
        for folder in ("shared", "functions", "docs", "infra", "devtools", "tests")
        for path in (ROOT / folder).rglob("*")
        if path.is_file()
        and path.suffix in {".py", ".md", ".json", ".bicep", ".kql"}
        and path != Path(__file__)
        and outside.search(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert not found, f"these point at the first design sketch outside the repository: {found}"
