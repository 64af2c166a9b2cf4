"""What a failed ARM or Resource Graph request means: one classifier for every source.

* 429, 5xx, 401, 408, no status, and network errors (``ServiceRequestError``,
  ``ServiceResponseError``) are **transient**: they outlived the SDK's retries (which honour
  ``Retry-After``), and the caller raises :class:`~shared.adapters.sources.base.TransientSourceError`
  so that the queue retries the work item.
* 403 is **denied**: the permission ARM named in its message, else the one the read needs;
  the controls that needed the read say Unknown and name it.
* 404 is **missing**: a deleted target, an absent related document.
* Any other status is permanent: the read is treated as not made.

Anything that is not an HTTP or network failure is not classified (``None``): a bug, to be raised.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from shared.adapters.sources.base import TransientSourceError

_ACTION = re.compile(r"perform action '([^']+)'", re.IGNORECASE)


@dataclass(frozen=True)
class Failure:
    status: int | None
    transient: bool = False
    denied: str = ""  # 403: the permission that was missing
    missing: bool = False  # 404
    detail: str = ""  # "HTTP 503: <message>" or "<ErrorType>: <text>"

    def error(self, what: str) -> TransientSourceError:
        """The exception that makes the queue retry a read that failed this way."""
        return TransientSourceError(f"{what}: {self.detail}")


def classify(exc: BaseException, permission: str = "") -> Failure | None:
    """What ``exc`` (raised by an SDK call) means for a read needing ``permission``."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return Failure(None, transient=True, detail=f"{type(exc).__name__}: {exc}")
    if not isinstance(exc, HttpResponseError):
        return None
    status = exc.status_code
    detail = f"HTTP {status}: {exc.message}"
    if status == 404:
        return Failure(404, missing=True, detail=detail)
    if status == 403:
        text = str(exc.message or exc)
        if exc.response is not None:
            with contextlib.suppress(Exception):  # the body is a courtesy; the status decides
                text += " " + exc.response.text()
        named = _ACTION.search(text)
        return Failure(403, denied=named.group(1) if named else permission, detail=detail)
    if status is None or status in (401, 408, 429) or status >= 500:
        return Failure(status, transient=True, detail=detail)
    return Failure(status, detail=detail)
