"""The text reports, by the names callers have always imported them from.

Each job has its module:

* ``shared.reports.table``     the terminal table (``evaluate --format table``), fitted to a width
* ``shared.reports.records``   finding records as JSON and JSON Lines, streamed, and the compact form
* ``shared.reports.tabular``   CSV and JUnit XML, streamed
* ``shared.reports.markdown``  the pull-request comment
* ``shared.reports.sarif``     SARIF 2.1.0 for GitHub code scanning
* ``shared.reports.catalog``   the control catalog (table, JSON, the docs/controls.md page)
* ``shared.reports.common``    order, counts, the summary, the words people read
* ``shared.reports.remediation`` prose and ``az`` commands of a fix
"""

from __future__ import annotations

from shared.reports.catalog import CATALOG_COMMAND, catalog_records, render_catalog
from shared.reports.common import (
    SEVERITY_ORDER,
    STATUS_ORDER,
    TARGET_SHORT_NAME,
    TOOL_NAME,
    Summary,
    _count_failing_severities,
    _count_statuses,
    _ordered_findings,
    _ordered_targets,
    _severity_rank,
    _status_rank,
    _target_key,
    format_score,
    summary_line,
    target_short_name,
)
from shared.reports.markdown import md_cell, render_markdown
from shared.reports.records import render_json
from shared.reports.remediation import _remediation_inline, _remediation_markdown, _split_remediation
from shared.reports.sarif import (
    FINGERPRINT_KEY,
    SARIF_LEVEL,
    SARIF_SCHEMA_URI,
    SARIF_VERSION,
    SECURITY_SEVERITY,
    TOOL_INFORMATION_URI,
    UNKNOWN_LEVEL,
    UNKNOWN_RULE_SUFFIX,
    artifact_uri,
    fingerprint,
    render_sarif,
    render_sarif_text,
    rule_name,
)
from shared.reports.table import TABLE_WIDTH, render_table

__all__ = [
    "CATALOG_COMMAND",
    "FINGERPRINT_KEY",
    "SARIF_LEVEL",
    "SARIF_SCHEMA_URI",
    "SARIF_VERSION",
    "SECURITY_SEVERITY",
    "SEVERITY_ORDER",
    "STATUS_ORDER",
    "TABLE_WIDTH",
    "TARGET_SHORT_NAME",
    "TOOL_INFORMATION_URI",
    "TOOL_NAME",
    "UNKNOWN_LEVEL",
    "UNKNOWN_RULE_SUFFIX",
    "Summary",
    "_count_failing_severities",
    "_count_statuses",
    "_ordered_findings",
    "_ordered_targets",
    "_remediation_inline",
    "_remediation_markdown",
    "_severity_rank",
    "_split_remediation",
    "_status_rank",
    "_target_key",
    "artifact_uri",
    "catalog_records",
    "fingerprint",
    "format_score",
    "md_cell",
    "render_catalog",
    "render_json",
    "render_markdown",
    "render_sarif",
    "render_sarif_text",
    "render_table",
    "rule_name",
    "summary_line",
    "target_short_name",
]
