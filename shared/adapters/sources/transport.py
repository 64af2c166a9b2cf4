"""The management SDK clients, their one HTTP session, request counting, and one request's outcome.

A client is named by :class:`~shared.core.resource_types.Client` (the resource types' table
says which reads which type) and made once per subscription on first use; every client
shares one ``requests`` session, so connections to ARM are reused across clients and
threads. The SDK modules are imported on first use, so importing this module stays cheap
for a Functions cold start.

:meth:`Clients.fetch` runs one SDK call (a pager is followed to its last page) and keeps
the raw JSON body of every 200 response (a ``raw_response_hook``), so the SDK models never
re-case a key: a live document is the ARM REST wire shape, exactly as the same JSON exported
to a file. Failures go through the one classifier (:mod:`shared.adapters.sources.errors`).
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.adapters.sources.errors import classify
from shared.core.clock import Clock
from shared.core.resource_types import Client
from shared.core.settings import Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

log = logging.getLogger(__name__)

DEFAULT_CLIENT_KWARGS: dict[str, Any] = {
    # A queue retry follows a failed read, so the SDK need not try for long; Retry-After
    # from ARM is honoured on every attempt regardless of the backoff.
    "retry_total": 3,
    "retry_backoff_factor": 0.8,
    "retry_backoff_max": 30,
}

# The SDK class of each client name. Client.ARM (a GET the SDKs have no operation for) goes
# through the container service client's pipeline: authentication, retries, counting.
SDK_CLIENTS: dict[Client, tuple[str, str]] = {
    Client.CONTAINER_SERVICE: ("azure.mgmt.containerservice", "ContainerServiceClient"),
    Client.CONTAINER_REGISTRY: ("azure.mgmt.containerregistry", "ContainerRegistryManagementClient"),
    Client.NETWORK: ("azure.mgmt.network", "NetworkManagementClient"),
    Client.AUTHORIZATION: ("azure.mgmt.authorization", "AuthorizationManagementClient"),
    Client.POLICY: ("azure.mgmt.resource.policy", "PolicyClient"),
    Client.SECURITY: ("azure.mgmt.security", "SecurityCenter"),
    Client.POLICY_INSIGHTS: ("azure.mgmt.policyinsights", "PolicyInsightsClient"),
}
_PIPELINE_OF = {Client.ARM: Client.CONTAINER_SERVICE}
_COUNTER_OPTION = "compliance_request_counter"

Call = Callable[[Any, dict[str, Any]], Any]  # (client, kwargs for every request) -> response or pager


def default_credential(settings: Settings) -> TokenCredential:
    """``DefaultAzureCredential`` (the managed identity in Azure), honouring a sovereign authority."""
    from azure.identity import DefaultAzureCredential

    kwargs: dict[str, Any] = {}
    if settings.authority_host:
        kwargs["authority"] = settings.authority_host
    if settings.managed_identity_client_id:
        kwargs["managed_identity_client_id"] = settings.managed_identity_client_id
    credential: TokenCredential = DefaultAzureCredential(**kwargs)
    return credential


class RequestCounter:
    """HTTP requests made for one read (each page counts; SDK retries of a request do not)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1


def _counting_policy() -> Any:
    """A per-call pipeline policy that counts requests against the counter the call carries."""
    from azure.core.pipeline import PipelineRequest
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class CountRequests(SansIOHTTPPolicy[Any, Any]):
        def on_request(self, request: PipelineRequest[Any]) -> None:
            counter = request.context.options.pop(_COUNTER_OPTION, None)
            if isinstance(counter, RequestCounter):
                counter.add()

    return CountRequests()


@dataclass(frozen=True)
class Outcome:
    """What one read gave: the raw JSON bodies, or why there are none."""

    bodies: tuple[Any, ...] | None  # None: nothing was read
    read_at: datetime
    denied: str = ""  # the permission a 403 named
    missing: bool = False  # 404
    status: int | None = None
    size: int = 0  # characters of JSON the bodies came in (what a cache of them holds, roughly)


class Clients:
    """Management clients per (client name, subscription) over one shared HTTP transport."""

    def __init__(
        self, credential: TokenCredential, endpoint: str, client_kwargs: dict[str, Any], clock: Clock, pool_size: int
    ) -> None:
        self.credential = credential
        self.endpoint = endpoint
        self.kwargs = client_kwargs
        self._clock = clock
        self._pool_size = pool_size
        self._clients: dict[tuple[Client, str], Any] = {}
        self._lock = threading.Lock()
        self._transport: Any = None
        self._policy: Any = None

    def get(self, name: Client, subscription: str) -> Any:
        name = _PIPELINE_OF.get(name, name)
        key = (name, subscription.lower())
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._make(name, subscription)
        return client

    def _make(self, name: Client, subscription: str) -> Any:
        if self._policy is None:
            self._policy = _counting_policy()
        kwargs = dict(self.kwargs)
        kwargs["per_call_policies"] = [self._policy, *kwargs.get("per_call_policies", [])]
        kwargs["base_url"] = self.endpoint
        kwargs["credential_scopes"] = [f"{self.endpoint}/.default"]
        if "transport" not in kwargs:
            kwargs["transport"] = self._shared_transport()
        module, cls = SDK_CLIENTS[name]
        return getattr(importlib.import_module(module), cls)(self.credential, subscription, **kwargs)

    def _shared_transport(self) -> Any:
        """One HTTP session for every client: connections to ARM are reused across clients and threads."""
        if self._transport is None:
            import requests
            from azure.core.pipeline.transport import RequestsTransport
            from urllib3.util.retry import Retry

            session = requests.Session()
            # Retries belong to the SDK's RetryPolicy (Retry-After aware), not to urllib3.
            adapter = requests.adapters.HTTPAdapter(
                max_retries=Retry(total=False, redirect=False, raise_on_status=False),
                pool_maxsize=max(10, self._pool_size),
            )
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._transport = RequestsTransport(session=session, session_owner=True, **self.kwargs)
        return self._transport

    def close(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
            transport, self._transport = self._transport, None
        for client in clients:
            client.close()
        if transport is not None:
            transport.close()

    def fetch(
        self, name: Client, subscription: str, what: str, permission: str, call: Call, counter: RequestCounter
    ) -> Outcome:
        """Run ``call(client, kwargs)`` and keep the raw JSON of every successful response.

        ``kwargs`` carry the response hook and the request counter; a pager is followed to
        its last page. Raises TransientSourceError for what a later retry may cure.
        """
        bodies: list[Any] = []
        size = 0

        def keep(pipeline_response: Any) -> None:
            nonlocal size
            http = pipeline_response.http_response
            if http.status_code == 200:
                text = http.text()
                try:
                    bodies.append(json.loads(text))
                except ValueError:
                    log.warning("%s: a 200 response without a JSON body", what)
                    return
                size += len(text)

        read_at = self._clock()
        try:
            result = call(self.get(name, subscription), {"raw_response_hook": keep, _COUNTER_OPTION: counter})
            if hasattr(result, "by_page"):
                for page in result.by_page():
                    for _ in page:
                        pass
        except Exception as exc:
            failure = classify(exc, permission)
            if failure is None:
                raise
            if failure.transient:
                raise failure.error(what) from exc
            if failure.denied:
                log.warning("%s: access denied (%s)", what, failure.denied)
            elif not failure.missing:
                log.warning("%s: %s; treated as not read", what, failure.detail)
            return Outcome(None, read_at, denied=failure.denied, missing=failure.missing, status=failure.status)
        return Outcome(tuple(bodies), read_at, status=200, size=size)
