"""The HTML compliance report: one self-contained file people can open, scan, print and forward.

* ``words``    what people read: topics, benchmark ids, status symbols, production and owner
* ``store``    the trend and regressions from Table Storage's history rows; results from state rows
* ``prepare``  results -> what the page shows: targets in fix-first order, controls' pass rates,
               groups, and the compact data the page's script draws from and exports as CSV
* ``charts``   SVG geometry
* ``render``   the Jinja templates (``templates/``), stylesheet and script (``static/``), CSP

Pure functions only: no printing, reading or writing (beyond the package's own templates).
"""

from shared.reports.html.render import CSP, PAGE_SIZE, render_html
from shared.reports.html.store import Regression, StoreHistory, TrendSeries, history_from_records, results_from_records
from shared.reports.html.words import STATUS_CLASS, STATUS_SYMBOL, topic_of

__all__ = [
    "CSP",
    "PAGE_SIZE",
    "STATUS_CLASS",
    "STATUS_SYMBOL",
    "Regression",
    "StoreHistory",
    "TrendSeries",
    "history_from_records",
    "render_html",
    "results_from_records",
    "topic_of",
]
