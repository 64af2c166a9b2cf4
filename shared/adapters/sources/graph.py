"""Azure Resource Graph: the one paged query every Graph read goes through, and the target listing.

:meth:`ResourceGraphLister.rows` runs a query over subscriptions page by page (1,000 rows a
page at most; each page is a request, counted); failures go through the one classifier
(:mod:`shared.adapters.sources.errors`): throttling, 5xx and network errors raise
:class:`~shared.adapters.sources.base.TransientSourceError`.

``list_targets`` gives every AKS cluster and container registry in scope (one paged query,
not one list per subscription), then one target per subscription (those the rows live in and
those asked for). ``documents`` runs the same query with full rows, for callers that want to
skip reading again what Resource Graph already returned. The subscription snapshot
(:mod:`shared.adapters.sources.snapshot`) runs its queries through ``rows`` too.

The SDK (azure-mgmt-resourcegraph) is imported on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from shared.adapters.sources.base import TargetRef
from shared.adapters.sources.errors import classify
from shared.adapters.sources.transport import RequestCounter
from shared.core import ids
from shared.core.resource_types import T_SUBSCRIPTION, TARGET_TYPES
from shared.core.settings import Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

_WHERE = "resources | where type in~ ({types})".format(types=",".join(f"'{t}'" for t in TARGET_TYPES))
TARGETS_QUERY = f"{_WHERE} | project id, type, subscriptionId"
DOCUMENTS_QUERY = (
    f"{_WHERE} | project id, name, type, location, tags, sku, identity, properties, subscriptionId, resourceGroup"
)
PAGE_SIZE = 1000  # the most Resource Graph returns per page


class ResourceGraphLister:
    def __init__(
        self, credential: TokenCredential, settings: Settings, *, page_size: int = PAGE_SIZE, **client_kwargs: Any
    ) -> None:
        self.settings = settings
        self.page_size = page_size
        self.requests = 0  # query pages requested, for logs and benchmarks
        self._credential = credential
        self._client_kwargs = client_kwargs
        self._client: Any = None
        self._lock = threading.Lock()  # one client, made once, whatever thread asks first

    def _resource_graph(self) -> Any:
        with self._lock:
            if self._client is None:
                from azure.mgmt.resourcegraph import ResourceGraphClient

                endpoint = self.settings.arm_endpoint.rstrip("/")
                kwargs = dict(self._client_kwargs)
                kwargs["base_url"] = endpoint
                kwargs["credential_scopes"] = [f"{endpoint}/.default"]
                self._client = ResourceGraphClient(self._credential, **kwargs)
            return self._client

    def rows(
        self, query: str, subscriptions: Iterable[str], counter: RequestCounter | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every row of ``query`` over ``subscriptions`` (none: all the identity can see), page by page."""
        from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

        subs = sorted({s.lower() for s in subscriptions})
        client = self._resource_graph()
        skip_token: str | None = None
        while True:
            request = QueryRequest(
                subscriptions=subs or None,
                query=query,
                options=QueryRequestOptions(result_format="objectArray", top=self.page_size, skip_token=skip_token),
            )
            self.requests += 1
            if counter is not None:
                counter.add()
            try:
                response = client.resources(request)
            except Exception as exc:
                failure = classify(exc)
                if failure is not None and failure.transient:
                    raise failure.error("Resource Graph") from exc
                raise
            data = response.data
            for row in data if isinstance(data, list) else []:
                if isinstance(row, dict):
                    yield row
            skip_token = response.skip_token
            if not skip_token:
                return

    def list_targets(self, subscriptions: Iterable[str]) -> Iterator[TargetRef]:
        """Clusters and registries, then one target per subscription seen or asked for."""
        asked = {s.lower() for s in subscriptions}
        seen: set[str] = set()
        for row in self.rows(TARGETS_QUERY, asked):
            rid = row.get("id")
            if not ids.is_arm_id(rid):
                continue
            resource_id = str(rid)
            parsed = ids.parse(resource_id)
            rtype = str(row.get("type") or parsed.type).lower()
            sub = str(row.get("subscriptionId") or parsed.subscription).lower()
            seen.add(sub)
            yield TargetRef(resource_id, rtype, sub)
        for sub in sorted(seen | asked):
            yield TargetRef(ids.subscription_id(sub), T_SUBSCRIPTION, sub)

    def documents(self, subscriptions: Iterable[str]) -> Iterator[dict[str, Any]]:
        """Full rows (ARM ``properties`` included) of every cluster and registry in scope."""
        yield from self.rows(DOCUMENTS_QUERY, subscriptions)
