"""The page: Jinja templates with autoescaping, the stylesheet and script inline, one file.

Every value from a resource (names, ids, tags, reasons, evidence) reaches the page through a
template's autoescaping or, for the findings the script draws, through the JSON data block
(``tojson``: ``<``, ``>``, ``&`` and ``'`` escaped) and ``textContent``. The
Content-Security-Policy admits only the page's own style and script, by hash: nothing is
fetched when the page is opened, and a value that escaped escaping could run nothing.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import datetime
from importlib import resources

import jinja2
from markupsafe import Markup

from shared.baseline.model import Control
from shared.baseline.registry import BASELINE_VERSION, CATALOG
from shared.core.clock import system_clock
from shared.core.model import TargetResult
from shared.core.serialize import iso_utc
from shared.reports.html import charts, words
from shared.reports.html.prepare import PASS_EVIDENCE_UP_TO, kind_plural, prepare
from shared.reports.html.store import StoreHistory
from shared.reports.html.words import STATUSES
from shared.reports.text import _split_remediation, format_score

PAGE_SIZE = 50  # rows of the heat map and target sections the script shows at a time
OPEN_TARGETS_UP_TO = 10  # target sections start open only in small estates
REGRESSIONS_SHOWN = 100

_STATIC = resources.files("shared.reports.html") / "static"
CSS = (_STATIC / "report.css").read_text(encoding="utf-8")
JS = (_STATIC / "report.js").read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# The page may run its own script and style and nothing else; no fetch of any kind.
CSP = (
    f"default-src 'none'; style-src {_csp_hash(CSS)}; script-src {_csp_hash(JS)}; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("shared.reports.html", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.policies["json.dumps_kwargs"] = {"separators": (",", ":"), "ensure_ascii": False}
_ENV.filters["score"] = format_score
_ENV.filters["plural"] = kind_plural
_ENV.filters["number"] = lambda n: f"{n:,}"
_ENV.filters["pct"] = lambda v: "n/a" if v is None else f"{v:.0f}%"
_ENV.globals.update(
    statuses=STATUSES,
    symbol=words.STATUS_SYMBOL,
    status_class=words.STATUS_CLASS,
    status_words=words.STATUS_WORDS,
    status_meaning=words.STATUS_MEANING,
    split_remediation=_split_remediation,
)


def render_html(
    results: Sequence[TargetResult],
    *,
    controls: Sequence[Control] = CATALOG,
    history: StoreHistory | None = None,
    title: str = "AKS compliance report",
    source: str = "",
    generated_at: datetime | None = None,
    tool_version: str = "",
) -> str:
    """The whole report as one HTML document (no trailing newline).

    The first screen says what to fix first; ``history`` (reports read from Table Storage)
    adds the score over time and the latest regressions.
    """
    view = prepare(results, controls)
    findings = [f for r in results for f in r.findings]
    versions = sorted({f.BaselineVersion for f in findings if f.BaselineVersion}) or [BASELINE_VERSION]
    page = _ENV.get_template("report.html.j2").render(
        view=view,
        history=history,
        trend=charts.trend(history) if history is not None and history.labels else None,
        regressions=history.regressions[:REGRESSIONS_SHOWN] if history is not None else (),
        strip=charts.status_strip(view.counts, STATUSES),
        title=title,
        source=source,
        when=iso_utc(generated_at or system_clock())[:19].replace("T", " ") + " UTC",
        versions=", ".join(versions),
        tool_version=tool_version,
        csp=CSP,
        css=Markup(CSS),
        js=Markup(JS),
        page_size=PAGE_SIZE,
        open_up_to=OPEN_TARGETS_UP_TO,
        pass_evidence_up_to=PASS_EVIDENCE_UP_TO,
    )
    return page.rstrip("\n")
