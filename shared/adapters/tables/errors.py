"""Table Storage failures: what the caller must retry, and what it resolves itself."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

CONFLICTS = ("UpdateConditionNotSatisfied", "EntityAlreadyExists")  # a concurrent writer, not an outage


class StoreUnavailable(Exception):
    """Table Storage could not be reached or refused the request: the caller must retry."""


@contextmanager
def storage_errors(conflicts_ok: bool = False) -> Iterator[None]:
    """Turn transport and service errors into StoreUnavailable, so the Function fails and retries.

    Not-found passes through (callers treat it as "absent"); so do write conflicts where
    the caller resolves them (``conflicts_ok``).
    """
    from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
    from azure.data.tables import TableTransactionError

    try:
        yield
    except (ResourceNotFoundError, StoreUnavailable):
        raise
    except (ResourceExistsError, ResourceModifiedError, TableTransactionError) as exc:
        if conflicts_ok:
            raise
        raise StoreUnavailable(f"Table Storage refused the write: {first_line(exc)}") from exc
    except AzureError as exc:
        raise StoreUnavailable(f"Table Storage: {type(exc).__name__}: {first_line(exc)}") from exc


def first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:200]
