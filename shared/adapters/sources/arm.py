"""Live reads from Azure Resource Manager through the official management SDK clients.

``ArmSource.read(target_id)`` reads a cluster, a registry or a subscription and every
document its controls need, and returns them as one :class:`~shared.core.documents.Estate`
in the ARM REST wire shape (``properties`` level, REST key casing): the raw JSON body of
every response is captured with a ``raw_response_hook``, so the SDK models never
re-case a key and a live document evaluates exactly as the same JSON exported to a file.

What a read answers, and how failures turn into verdicts:

* 404 on the target: the target is deleted (``TargetRead.target`` is None). 404 on a
  related document: it is absent (the controls needing it say Unknown or judge its
  absence, as they do for a file export).
* 403 on any read: ``Estate.mark_denied`` with the permission ARM named (or the one the
  read needs), never an exception; the controls that needed it say Unknown and name it.
  A denied target GET gives a stub document, so every control is Unknown.
* 429, 5xx and network errors that outlive the SDK's retries (``RetryPolicy`` honours
  ``Retry-After``) raise :class:`TransientSourceError`, so the queue retries the work item.

Documents shared by many targets (Defender pricings, policy assignments, registries and
firewalls per subscription, custom initiatives, Kubernetes versions per region) are
kept for ``settings.shared_cache_seconds``, so a sweep reads them once per subscription.
``read(..., fresh_after=event_time)`` refuses cached copies read before an event, so an
event about a shared document is always judged on a read taken after it.

Independent reads run in parallel (four rounds for a cluster: the cluster; its pools,
subnets and the shared documents; further subnets and initiatives; NSGs and route tables).
The SDK modules are imported on first use, so importing this module stays cheap for a
Functions cold start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.adapters.sources.base import TargetRead, TargetRef, TransientSourceError
from shared.core import ids
from shared.core.clock import Clock, system_clock
from shared.core.documents import POLICY_STATES, Doc, Estate
from shared.core.resource_types import (
    T_AGENT_POOL,
    T_CLUSTER,
    T_DIAG,
    T_FIREWALL,
    T_LB,
    T_NSG,
    T_PIP,
    T_POLICY,
    T_POLICY_SET,
    T_PRICING,
    T_REGISTRY,
    T_ROLE,
    T_ROUTE_TABLE,
    T_SUBNET,
    T_SUBSCRIPTION,
)
from shared.core.settings import Settings
from shared.core.versions import LiveVersionSource, default_source

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

log = logging.getLogger(__name__)


T_K8S_VERSIONS = "microsoft.containerservice/locations/kubernetesversions"

# Operations the SDKs installed do not cover, sent through the same SDK pipeline
# (``send_request``: authentication, retries, counting) with the REST API version.
DIAGNOSTIC_SETTINGS_API = "2021-05-01-preview"  # azure-mgmt-monitor 7 dropped diagnostic settings
SUBSCRIPTIONS_API = "2022-12-01"  # SubscriptionClient now lives in azure-mgmt-resource-subscriptions

# The permission each read needs: named in the Unknown verdicts when a read is refused.
PERMISSIONS = {
    T_CLUSTER: "Microsoft.ContainerService/managedClusters/read",
    T_AGENT_POOL: "Microsoft.ContainerService/managedClusters/agentPools/read",
    T_REGISTRY: "Microsoft.ContainerRegistry/registries/read",
    T_SUBNET: "Microsoft.Network/virtualNetworks/subnets/read",
    T_NSG: "Microsoft.Network/networkSecurityGroups/read",
    T_ROUTE_TABLE: "Microsoft.Network/routeTables/read",
    T_FIREWALL: "Microsoft.Network/azureFirewalls/read",
    T_LB: "Microsoft.Network/loadBalancers/read",
    T_PIP: "Microsoft.Network/publicIPAddresses/read",
    T_ROLE: "Microsoft.Authorization/roleAssignments/read",
    T_POLICY: "Microsoft.Authorization/policyAssignments/read",
    T_POLICY_SET: "Microsoft.Authorization/policySetDefinitions/read",
    T_DIAG: "Microsoft.Insights/diagnosticSettings/read",
    T_PRICING: "Microsoft.Security/pricings/read",
    POLICY_STATES: "Microsoft.PolicyInsights/policyStates/queryResults/read",
    T_K8S_VERSIONS: "Microsoft.ContainerService/locations/kubernetesVersions/read",
    T_SUBSCRIPTION: "Microsoft.Resources/subscriptions/read",
}

DEFAULT_CLIENT_KWARGS: dict[str, Any] = {
    # A queue retry follows a failed read, so the SDK need not try for long; Retry-After
    # from ARM is honoured on every attempt regardless of the backoff.
    "retry_total": 3,
    "retry_backoff_factor": 0.8,
    "retry_backoff_max": 30,
}

_ACTION = re.compile(r"perform action '([^']+)'", re.IGNORECASE)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_COUNTER_OPTION = "compliance_request_counter"
_BUILT_IN_SETS = "/providers/microsoft.authorization/policysetdefinitions/"


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


class _Counter:
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

    class RequestCounter(SansIOHTTPPolicy[Any, Any]):
        def on_request(self, request: PipelineRequest[Any]) -> None:
            counter = request.context.options.pop(_COUNTER_OPTION, None)
            if isinstance(counter, _Counter):
                counter.add()

    return RequestCounter()


@dataclass(frozen=True)
class _Outcome:
    """What one read gave: the raw JSON bodies, or why there are none."""

    bodies: tuple[Any, ...] | None  # None: nothing was read
    read_at: datetime
    denied: str = ""  # the permission a 403 named
    missing: bool = False  # 404
    status: int | None = None


def _segment(resource_id: str, name: str) -> str:
    """The value after segment ``name`` (case-insensitive) of an id, as the id spells it."""
    parts = [p for p in resource_id.split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part.lower() == name.lower():
            return parts[i + 1]
    return ""


def _text(data: dict[str, Any], *path: str) -> str:
    """A string at a path of lower-case keys in a folded document; "" when absent."""
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else ""


def _subnet_ids(doc: Doc, pools: Iterable[Doc]) -> list[str]:
    """Node and pod subnets of the inline pools and the ``agentPools`` children, as spelled."""
    found: dict[str, str] = {}
    items: list[Any] = list(doc.data.get("agentpoolprofiles") or [])
    items += [p.data for p in pools]
    for pool in items:
        if not isinstance(pool, dict):
            continue
        for key in ("vnetsubnetid", "podsubnetid"):
            sid = pool.get(key)
            if isinstance(sid, str) and ids.is_arm_id(sid):
                found.setdefault(ids.norm(sid), sid)
    return list(found.values())


class ArmSource:
    """Reads targets live from ARM with the official management SDK clients."""

    def __init__(
        self,
        credential: TokenCredential,
        *,
        settings: Settings,
        clock: Clock = system_clock,
        max_workers: int = 16,
        **client_kwargs: Any,
    ) -> None:
        self.settings = settings
        self.endpoint = settings.arm_endpoint.rstrip("/")
        self._credential = credential
        self._clock = clock
        self._client_kwargs = {**DEFAULT_CLIENT_KWARGS, **client_kwargs}
        self._clients: dict[tuple[str, str], Any] = {}
        self._clients_lock = threading.Lock()
        self._transport: Any = None
        self._max_workers = max_workers
        self._cache: dict[tuple[str, ...], _Outcome] = {}
        self._key_locks: dict[tuple[str, ...], threading.Lock] = {}
        self._lock = threading.Lock()
        self._policy: Any = None
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="arm-read") if max_workers > 1 else None
        self._lister: Any = None

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> ArmSource:
        """The source as the Function App runs it: ``DefaultAzureCredential`` (managed identity)."""
        return cls(default_credential(settings), settings=settings, **kwargs)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        with self._clients_lock:
            clients = list(self._clients.values())
            self._clients.clear()
            transport, self._transport = self._transport, None
        for client in clients:
            client.close()
        if transport is not None:
            transport.close()

    def __enter__(self) -> ArmSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the Source protocol ------------------------------------------------------------
    def read(self, target_id: str, *, fresh_after: datetime | None = None) -> TargetRead:
        """Read the target and its context now; shared documents read before ``fresh_after`` are re-read."""
        rtype = ids.parse(target_id).type
        run = _Read(self, target_id, fresh_after)
        if rtype == T_CLUSTER:
            target = run.cluster()
        elif rtype == T_REGISTRY:
            target = run.registry()
        elif rtype == T_SUBSCRIPTION:
            target = run.subscription()
        else:
            raise ValueError(f"{target_id}: not a cluster, registry or subscription (type {rtype or 'unknown'})")
        return TargetRead(
            target=target,
            estate=run.estate,
            read_at=min(run.started, run.oldest),
            versions=run.versions,
            reads=run.counter.value,
        )

    def list_targets(self, subscriptions: frozenset[str]) -> Iterator[TargetRef]:
        """Every cluster, registry and subscription in scope, from Azure Resource Graph."""
        if self._lister is None:
            from shared.adapters.sources.graph import ResourceGraphLister

            self._lister = ResourceGraphLister(self._credential, self.settings, **self._client_kwargs)
        lister: Any = self._lister
        yield from lister.list_targets(subscriptions)

    # --- clients --------------------------------------------------------------------------
    def _client(self, kind: str, subscription: str) -> Any:
        key = (kind, subscription.lower())
        with self._clients_lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._make_client(kind, subscription)
        return client

    def _make_client(self, kind: str, subscription: str) -> Any:
        if self._policy is None:
            self._policy = _counting_policy()
        kwargs = dict(self._client_kwargs)
        kwargs["per_call_policies"] = [self._policy, *kwargs.get("per_call_policies", [])]
        kwargs["base_url"] = self.endpoint
        kwargs["credential_scopes"] = [f"{self.endpoint}/.default"]
        if "transport" not in kwargs:
            kwargs["transport"] = self._shared_transport()
        cred = self._credential
        if kind == "containerservice":
            from azure.mgmt.containerservice import ContainerServiceClient

            return ContainerServiceClient(cred, subscription, **kwargs)
        if kind == "containerregistry":
            from azure.mgmt.containerregistry import ContainerRegistryManagementClient

            return ContainerRegistryManagementClient(cred, subscription, **kwargs)
        if kind == "network":
            from azure.mgmt.network import NetworkManagementClient

            return NetworkManagementClient(cred, subscription, **kwargs)
        if kind == "authorization":
            from azure.mgmt.authorization import AuthorizationManagementClient

            return AuthorizationManagementClient(cred, subscription, **kwargs)
        if kind == "policy":
            from azure.mgmt.resource.policy import PolicyClient

            return PolicyClient(cred, subscription, **kwargs)
        if kind == "security":
            from azure.mgmt.security import SecurityCenter

            return SecurityCenter(cred, subscription, **kwargs)
        if kind == "policyinsights":
            from azure.mgmt.policyinsights import PolicyInsightsClient

            return PolicyInsightsClient(cred, subscription, **kwargs)
        raise ValueError(f"unknown client kind {kind!r}")

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
                pool_maxsize=max(10, self._max_workers),
            )
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._transport = RequestsTransport(session=session, session_owner=True, **self._client_kwargs)
        return self._transport

    # --- one request (paged or not), its errors, the shared cache ---------------------------
    def fetch(
        self,
        kind: str,
        subscription: str,
        what: str,
        permission: str,
        call: Callable[[Any, dict[str, Any]], Any],
        counter: _Counter,
    ) -> _Outcome:
        """Run ``call(client, kwargs)`` and keep the raw JSON of every successful response.

        ``kwargs`` carry the response hook and the request counter; a pager is followed to
        its last page. Raises TransientSourceError for what a later retry may cure.
        """
        bodies: list[Any] = []

        def keep(pipeline_response: Any) -> None:
            http = pipeline_response.http_response
            if http.status_code == 200:
                try:
                    bodies.append(json.loads(http.text()))
                except ValueError:
                    log.warning("%s: a 200 response without a JSON body", what)

        read_at = self._clock()
        try:
            result = call(self._client(kind, subscription), {"raw_response_hook": keep, _COUNTER_OPTION: counter})
            if hasattr(result, "by_page"):
                for page in result.by_page():
                    for _ in page:
                        pass
        except Exception as exc:
            return self._failure(exc, what, permission, read_at)
        return _Outcome(tuple(bodies), read_at, status=200)

    def _failure(self, exc: Exception, what: str, permission: str, read_at: datetime) -> _Outcome:
        from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

        if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
            raise TransientSourceError(f"{what}: {type(exc).__name__}: {exc}") from exc
        if not isinstance(exc, HttpResponseError):
            raise exc
        status = exc.status_code
        if status == 404:
            return _Outcome(None, read_at, missing=True, status=404)
        if status == 403:
            text = str(exc.message or exc)
            if exc.response is not None:
                with contextlib.suppress(Exception):  # the body is a courtesy; the status decides
                    text += " " + exc.response.text()
            named = _ACTION.search(text)
            denied = named.group(1) if named else permission
            log.warning("%s: access denied (%s)", what, denied)
            return _Outcome(None, read_at, denied=denied, status=403)
        if status is None or status in (401, 408, 429) or status >= 500:
            raise TransientSourceError(f"{what}: HTTP {status}: {exc.message}") from exc
        log.warning("%s: HTTP %s (%s); treated as not read", what, status, exc.message)
        return _Outcome(None, read_at, status=status)

    def shared(self, key: tuple[str, ...], fresh_after: datetime | None, fetch: Callable[[], _Outcome]) -> _Outcome:
        """A shared document's outcome from the cache, or fetched (once, however many callers)."""
        ttl = timedelta(seconds=self.settings.shared_cache_seconds)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            now = self._clock()
            with self._lock:
                hit = self._cache.get(key)
            if hit is not None and now - hit.read_at < ttl and (fresh_after is None or hit.read_at >= fresh_after):
                return hit
            outcome = fetch()
            if ttl > timedelta(0):
                with self._lock:
                    self._cache[key] = outcome
                    for stale in [k for k, v in self._cache.items() if now - v.read_at >= ttl]:
                        del self._cache[stale]
            return outcome

    def run_all(self, tasks: list[Callable[[], _Outcome]]) -> list[_Outcome]:
        """Run independent fetches, in parallel when a pool is configured; the first failure raises."""
        if self._pool is None or len(tasks) < 2:
            return [task() for task in tasks]
        futures = [self._pool.submit(task) for task in tasks]
        results: list[_Outcome] = []
        error: BaseException | None = None
        for future in futures:
            try:
                results.append(future.result())
            except BaseException as exc:  # wait for every request before raising
                error = error or exc
        if error is not None:
            raise error
        return results


_Step = tuple[Callable[[], _Outcome], Callable[[_Outcome], None]]  # a fetch and how to apply its outcome


class _Read:
    """One read of one target: its estate, request counter and version source."""

    def __init__(self, source: ArmSource, target_id: str, fresh_after: datetime | None) -> None:
        self.source = source
        self.target_id = target_id
        self.fresh_after = fresh_after
        self.counter = _Counter()
        self.estate = Estate()
        self.versions = LiveVersionSource(fallback=default_source())
        self.started = source._clock()
        self.oldest = self.started
        self._oldest_lock = threading.Lock()
        self.sub = _segment(target_id, "subscriptions").lower()
        self.resource_group = _segment(target_id, "resourceGroups")

    # --- building blocks ------------------------------------------------------------------
    def _fetch(
        self, kind: str, sub: str, rtype: str, what: str, call: Callable[[Any, dict[str, Any]], Any]
    ) -> Callable[[], _Outcome]:
        return lambda: self.source.fetch(kind, sub, what, PERMISSIONS[rtype], call, self.counter)

    def _shared(self, key: tuple[str, ...], fetch: Callable[[], _Outcome]) -> Callable[[], _Outcome]:
        def get() -> _Outcome:
            outcome = self.source.shared(key, self.fresh_after, fetch)
            # A cached copy is as old as its fetch: the read is only as fresh as its oldest
            # document, and the "covered" and "newer read" rules must see that age.
            with self._oldest_lock:
                self.oldest = min(self.oldest, outcome.read_at)
            return outcome

        return get

    def _add(self, outcome: _Outcome, origin: str) -> None:
        for i, body in enumerate(outcome.bodies or ()):
            self.estate.add_payload(body, origin if i == 0 else f"{origin} (page {i + 1})")

    def _listed(self, outcome: _Outcome, rtype: str, scope: str, origin: str) -> None:
        """A list read: add its documents and record that the type was read (or refused) for ``scope``."""
        if outcome.bodies is not None:
            self._add(outcome, origin)
            self.estate.mark_read(rtype, scope)
        elif outcome.denied:
            self.estate.mark_denied(rtype, scope, outcome.denied)

    def _got(self, outcome: _Outcome, rtype: str, resource_id: str) -> None:
        """A single GET: add the document, or record the refusal for its type and subscription."""
        if outcome.bodies is not None:
            self._add(outcome, f"arm:{resource_id}")
        elif outcome.denied:
            self.estate.mark_denied(rtype, _segment(resource_id, "subscriptions"), outcome.denied)

    def _target(self, outcome: _Outcome, rtype: str) -> Doc | None:
        """The target document; None when ARM says it no longer exists; a stub when it was refused."""
        if outcome.missing:
            return None
        self._got(outcome, rtype, self.target_id)
        doc = self.estate.get(self.target_id)
        if doc is not None:
            return doc
        why = f"ARM refused {outcome.denied}" if outcome.denied else f"ARM answered HTTP {outcome.status}"
        key = ids.norm(self.target_id)
        name = self.target_id.rstrip("/").rsplit("/", 1)[-1]
        stub = Doc({"id": self.target_id, "name": name}, self.target_id, key, rtype, f"arm:{self.target_id} ({why})")
        return stub

    # --- shared documents -------------------------------------------------------------------
    def _pricings(self, sub: str) -> Callable[[], _Outcome]:
        fetch = self._fetch(
            "security",
            sub,
            T_PRICING,
            f"Defender pricings of subscription {sub}",
            lambda c, kw: c.pricings.list(scope_id=f"subscriptions/{sub}", **kw),
        )
        return self._shared(("pricings", sub), fetch)

    def _apply_pricings(self, outcome: _Outcome, sub: str) -> None:
        self._listed(outcome, T_PRICING, sub, f"arm:/subscriptions/{sub}/providers/Microsoft.Security/pricings")

    # --- targets ------------------------------------------------------------------------------
    def subscription(self) -> Doc | None:
        sub = self.sub
        url = f"/subscriptions/{sub}"
        get = self._fetch(
            "containerservice", sub, T_SUBSCRIPTION, f"subscription {sub}", _send_get(url, SUBSCRIPTIONS_API)
        )
        target, pricings = self.source.run_all([get, self._pricings(sub)])
        doc = self._target(target, T_SUBSCRIPTION)
        if doc is None:
            return None
        self._apply_pricings(pricings, sub)
        return doc

    def registry(self) -> Doc | None:
        sub, rg, name = self.sub, self.resource_group, _segment(self.target_id, "registries")
        get = self._fetch(
            "containerregistry",
            sub,
            T_REGISTRY,
            f"registry {self.target_id}",
            lambda c, kw: c.registries.get(resource_group_name=rg, registry_name=name, **kw),
        )
        target, pricings = self.source.run_all([get, self._pricings(sub)])
        doc = self._target(target, T_REGISTRY)
        if doc is None or target.bodies is None:
            return doc
        self._apply_pricings(pricings, sub)
        return doc

    def cluster(self) -> Doc | None:
        source, sub, rg = self.source, self.sub, self.resource_group
        name = _segment(self.target_id, "managedClusters")
        (got,) = source.run_all(
            [
                self._fetch(
                    "containerservice",
                    sub,
                    T_CLUSTER,
                    f"cluster {self.target_id}",
                    lambda c, kw: c.managed_clusters.get(resource_group_name=rg, resource_name=name, **kw),
                )
            ]
        )
        doc = self._target(got, T_CLUSTER)
        if doc is None or got.bodies is None:
            return doc

        # Round 2: everything that needs only the cluster document.
        steps: list[_Step] = []
        steps.append(self._agent_pools(sub, rg, name))
        fetched_subnets: set[str] = set()
        for sid in _subnet_ids(doc, []):
            fetched_subnets.add(ids.norm(sid))
            steps.append(self._get_subnet(sid))
        for fw_sub in sorted({sub, *source.settings.hub_subscriptions}):
            steps.append(self._firewalls(fw_sub))
        node_rg = _text(doc.data, "noderesourcegroup")
        if node_rg:
            steps += self._node_resource_group(sub, node_rg)
        kubelet = _text(doc.data, "identityprofile", "kubeletidentity", "objectid")
        if _GUID.match(kubelet):
            steps.append(self._role_assignments(sub, kubelet))
        steps.append(self._registries(sub))
        steps.append(self._policy_assignments(sub))
        steps.append(self._diagnostic_settings(sub))
        steps.append((self._pricings(sub), lambda o: self._apply_pricings(o, sub)))
        steps.append(self._policy_states(sub))
        if doc.location:
            steps.append(self._kubernetes_versions(sub, doc.location))
        self._run(steps)

        # Round 3: subnets of the agentPools children, custom initiatives, NSGs and route tables.
        steps = []
        pools = self.estate.children(self.target_id, T_AGENT_POOL)
        for sid in _subnet_ids(doc, pools):
            if ids.norm(sid) not in fetched_subnets:
                fetched_subnets.add(ids.norm(sid))
                steps.append(self._get_subnet(sid))
        steps += self._custom_initiatives(sub)
        fetched_refs: set[str] = set()
        steps += self._subnet_references(fetched_subnets, fetched_refs)
        self._run(steps)

        # Round 4: NSGs and route tables of the subnets found in round 3.
        self._run(self._subnet_references(fetched_subnets, fetched_refs))
        return self.estate.get(self.target_id) or doc

    def _run(self, steps: list[_Step]) -> None:
        outcomes = self.source.run_all([fetch for fetch, _ in steps])
        for (_, apply), outcome in zip(steps, outcomes, strict=True):
            apply(outcome)

    # --- cluster context ------------------------------------------------------------------------
    def _agent_pools(self, sub: str, rg: str, name: str) -> _Step:
        fetch = self._fetch(
            "containerservice",
            sub,
            T_AGENT_POOL,
            f"agent pools of {self.target_id}",
            lambda c, kw: c.agent_pools.list(resource_group_name=rg, resource_name=name, **kw),
        )
        return fetch, lambda o: self._listed(o, T_AGENT_POOL, sub, f"arm:{self.target_id}/agentPools")

    def _get_subnet(self, subnet_id: str) -> _Step:
        sub = _segment(subnet_id, "subscriptions")
        rg, vnet, name = (_segment(subnet_id, k) for k in ("resourceGroups", "virtualNetworks", "subnets"))
        fetch = self._fetch(
            "network",
            sub,
            T_SUBNET,
            f"subnet {subnet_id}",
            lambda c, kw: c.subnets.get(resource_group_name=rg, virtual_network_name=vnet, subnet_name=name, **kw),
        )
        return fetch, lambda o: self._got(o, T_SUBNET, subnet_id)

    def _subnet_references(self, subnets: set[str], done: set[str]) -> list[_Step]:
        """GETs of the NSGs and route tables the subnets read so far reference, each once."""
        steps = []
        for key in sorted(subnets):
            subnet = self.estate.get(key)
            if subnet is None:
                continue
            for ref, rtype in (("networksecuritygroup", T_NSG), ("routetable", T_ROUTE_TABLE)):
                rid = _text(subnet.data, ref, "id")
                if not ids.is_arm_id(rid) or ids.norm(rid) in done:
                    continue
                done.add(ids.norm(rid))
                steps.append(self._get_network(rid, rtype))
        return steps

    def _get_network(self, rid: str, rtype: str) -> _Step:
        sub, rg = _segment(rid, "subscriptions"), _segment(rid, "resourceGroups")
        if rtype == T_NSG:
            name = _segment(rid, "networkSecurityGroups")

            def call(c: Any, kw: dict[str, Any]) -> Any:
                return c.network_security_groups.get(resource_group_name=rg, network_security_group_name=name, **kw)

        else:
            name = _segment(rid, "routeTables")

            def call(c: Any, kw: dict[str, Any]) -> Any:
                return c.route_tables.get(resource_group_name=rg, route_table_name=name, **kw)

        fetch = self._fetch("network", sub, rtype, f"{rtype.rsplit('/', 1)[-1]} {rid}", call)
        return fetch, lambda o: self._got(o, rtype, rid)

    def _firewalls(self, sub: str) -> _Step:
        fetch = self._fetch(
            "network",
            sub,
            T_FIREWALL,
            f"Azure Firewalls of subscription {sub}",
            lambda c, kw: c.azure_firewalls.list_all(**kw),
        )
        origin = f"arm:/subscriptions/{sub}/providers/Microsoft.Network/azureFirewalls"
        return self._shared(("firewalls", sub), fetch), lambda o: self._listed(o, T_FIREWALL, sub, origin)

    def _node_resource_group(self, sub: str, node_rg: str) -> list[_Step]:
        scope = f"/subscriptions/{sub}/resourceGroups/{node_rg}"
        lbs = self._fetch(
            "network",
            sub,
            T_LB,
            f"load balancers of {scope}",
            lambda c, kw: c.load_balancers.list(resource_group_name=node_rg, **kw),
        )
        pips = self._fetch(
            "network",
            sub,
            T_PIP,
            f"public IP addresses of {scope}",
            lambda c, kw: c.public_ip_addresses.list(resource_group_name=node_rg, **kw),
        )
        return [
            (lbs, lambda o: self._listed(o, T_LB, sub, f"arm:{scope}/providers/Microsoft.Network/loadBalancers")),
            (pips, lambda o: self._listed(o, T_PIP, sub, f"arm:{scope}/providers/Microsoft.Network/publicIPAddresses")),
        ]

    def _role_assignments(self, sub: str, principal: str) -> _Step:
        fetch = self._fetch(
            "authorization",
            sub,
            T_ROLE,
            f"role assignments of principal {principal}",
            lambda c, kw: c.role_assignments.list_for_subscription(filter=f"principalId eq '{principal}'", **kw),
        )
        origin = f"arm:/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments?principalId={principal}"
        return fetch, lambda o: self._listed(o, T_ROLE, sub, origin)

    def _registries(self, sub: str) -> _Step:
        fetch = self._fetch(
            "containerregistry",
            sub,
            T_REGISTRY,
            f"registries of subscription {sub}",
            lambda c, kw: c.registries.list(**kw),
        )
        origin = f"arm:/subscriptions/{sub}/providers/Microsoft.ContainerRegistry/registries"
        return self._shared(("registries", sub), fetch), lambda o: self._listed(o, T_REGISTRY, sub, origin)

    def _policy_assignments(self, sub: str) -> _Step:
        # No $filter: the subscription's own assignments, those inside it (resource groups,
        # resources) and those inherited from management groups: every one that can apply
        # to a target in the subscription, in one list shared by all its targets.
        fetch = self._fetch(
            "policy",
            sub,
            T_POLICY,
            f"policy assignments of subscription {sub}",
            lambda c, kw: c.policy_assignments.list(**kw),
        )
        origin = f"arm:/subscriptions/{sub}/providers/Microsoft.Authorization/policyAssignments"
        return self._shared(("policyAssignments", sub), fetch), lambda o: self._listed(o, T_POLICY, sub, origin)

    def _custom_initiatives(self, sub: str) -> list[_Step]:
        """GETs of the custom policy set definitions the assignments reference (built-ins are bundled)."""
        wanted: dict[str, str] = {}
        for doc in self.estate.in_subscription(sub, T_POLICY) + self.estate.in_subscription("", T_POLICY):
            did = _text(doc.data, "policydefinitionid")
            key = ids.norm(did) if did else ""
            if "/policysetdefinitions/" in key and not key.startswith(_BUILT_IN_SETS):
                wanted.setdefault(key, did)
        steps: list[_Step] = []
        for key, did in sorted(wanted.items()):
            name = did.rstrip("/").rsplit("/", 1)[-1]
            owner = _segment(did, "subscriptions")
            group = _segment(did, "managementGroups")
            if not owner and not group:
                continue
            call = _get_set_definition(name, group)
            fetch = self._fetch("policy", owner or sub, T_POLICY_SET, f"policy set definition {did}", call)
            steps.append((self._shared(("policySetDefinition", key), fetch), self._got_as(T_POLICY_SET, did)))
        return steps

    def _got_as(self, rtype: str, resource_id: str) -> Callable[[_Outcome], None]:
        return lambda outcome: self._got(outcome, rtype, resource_id)

    def _diagnostic_settings(self, sub: str) -> _Step:
        url = f"{self.target_id}/providers/Microsoft.Insights/diagnosticSettings"
        fetch = self._fetch(
            "containerservice",
            sub,
            T_DIAG,
            f"diagnostic settings of {self.target_id}",
            _send_get(url, DIAGNOSTIC_SETTINGS_API),
        )
        return fetch, lambda o: self._listed(o, T_DIAG, sub, f"arm:{url}")

    def _policy_states(self, sub: str) -> _Step:
        target = self.target_id
        fetch = self._fetch(
            "policyinsights",
            sub,
            POLICY_STATES,
            f"policy states of {target}",
            lambda c, kw: c.policy_states.list_query_results_for_resource(
                policy_states_resource="latest", resource_id=target, **kw
            ),
        )
        origin = f"arm:{target}/providers/Microsoft.PolicyInsights/policyStates/latest"
        # The context asks whether states were read for the target itself.
        return fetch, lambda o: self._listed(o, POLICY_STATES, ids.norm(target), origin)

    def _kubernetes_versions(self, sub: str, location: str) -> _Step:
        fetch = self._fetch(
            "containerservice",
            sub,
            T_K8S_VERSIONS,
            f"Kubernetes versions in {location}",
            lambda c, kw: c.managed_clusters.list_kubernetes_versions(location=location, **kw),
        )
        region = location.replace(" ", "").lower()

        def apply(outcome: _Outcome) -> None:
            body = outcome.bodies[0] if outcome.bodies else None
            if isinstance(body, dict):
                self.versions.add_response(location, body)

        return self._shared(("kubernetesVersions", region), fetch), apply


def _get_set_definition(name: str, management_group: str) -> Callable[[Any, dict[str, Any]], Any]:
    if management_group:
        return lambda c, kw: c.policy_set_definitions.get_at_management_group(
            management_group_id=management_group, policy_set_definition_name=name, **kw
        )
    return lambda c, kw: c.policy_set_definitions.get(policy_set_definition_name=name, **kw)


def _send_get(path: str, api_version: str) -> Callable[[Any, dict[str, Any]], Any]:
    """A GET the SDK has no operation for, through the client's own pipeline (``send_request``)."""

    def call(client: Any, kwargs: dict[str, Any]) -> Any:
        from azure.core.rest import HttpRequest

        response = client.send_request(HttpRequest("GET", path, params={"api-version": api_version}), **kwargs)
        response.raise_for_status()
        return response

    return call
