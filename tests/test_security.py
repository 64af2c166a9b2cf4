"""Security properties of the monitor, each proven by a test (SECURITY.md names them).

(a) Read-only on watched resources: no code path calls an SDK operation that writes,
    deletes or lists keys; every request the live reader sends to ARM is a GET, except the
    two read-only query POSTs (Resource Graph, PolicyInsights queryResults).
(b) No secret reaches logs or records: the whole flow with recognisable tokens, scanned.
(c) KQL: workbook parameters and resource names cannot change a query.
(d) Settings: one storage mode, and no value ever logged.
(e) Dependencies pinned.
(f) The deployed identity holds no write or key-listing role.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import json
import logging
import re
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_pipeline import ACR, ESTATE, PAYMENTS, PROD, T0, World, world, write_event  # noqa: F401

from devtools.azurite import ACCOUNT_KEY
from devtools.doubles.arm_double import ArmDouble, FakeCredential
from devtools.doubles.ingestion_double import IngestionDouble
from shared.adapters.logs import IngestionPublisher
from shared.adapters.sources.arm import ArmSource
from shared.adapters.sources.base import TransientSourceError
from shared.adapters.sources.graph import ResourceGraphLister
from shared.core.inputs import load_paths
from shared.core.settings import Settings, SettingsError
from shared.evaluation.engine import targets_of
from shared.service import events
from shared.service.pipeline import Pipeline

ROOT = Path(__file__).resolve().parent.parent
FAST = {"retry_total": 2, "retry_backoff_factor": 0.01, "retry_backoff_max": 0.05}
SOURCES = sorted([*(ROOT / "shared").rglob("*.py"), *(ROOT / "functions").rglob("*.py"), ROOT / "function_app.py"])


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _trees() -> Iterator[tuple[str, ast.AST]]:
    for path in SOURCES:
        yield _rel(path), ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


# =========================================================================== (a) read-only

# Operation names that change or unlock a resource (the management SDKs' naming).
FORBIDDEN = re.compile(
    r"^(begin_\w*|create_or_update\w*|delete\w*|update\w*|list_keys|list_\w*credentials?\w*|regenerate\w*"
    r"|rotate\w*|run_command\w*|list_secrets?|import_image|purge\w*|put|patch|post|reset\w*|generate\w*)$"
)
# Bare names that are also methods of dict, set and list: an SDK call only on an operation group.
AMBIGUOUS = {"update", "delete"}

# Our own writes, and only these: Table Storage (state, dependency index, outbox), the work
# queue, and the Logs Ingestion API: these methods, on these clients, in these files.
OWN_WRITE_METHODS = {
    "create_table_if_not_exists",
    "submit_transaction",
    "create_entity",
    "update_entity",
    "upsert_entity",
    "delete_entity",
    "create_queue",
    "send_message",
    "upload",
}
OWN_WRITE_CLIENTS = {
    "shared/adapters/tables/store.py": {"self._service", "self.state", "self.deps", "self.outbox_table", "self._table"},
    "shared/adapters/tables/dependencies.py": {"self.deps"},
    "shared/adapters/tables/outbox.py": {"self._table"},
    "shared/adapters/queue.py": {"self._client"},
    "shared/adapters/logs.py": {"client"},
}
OWN_WRITE_NAMES = OWN_WRITE_METHODS


def _own_write(rel: str, call: ast.Call) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr in OWN_WRITE_METHODS
        and ast.unparse(func.value) in OWN_WRITE_CLIENTS.get(rel, set())
    )


# The management clients the live reader builds (shared/adapters/sources/arm.py, graph.py).
SDK_CLIENTS = [
    ("azure.mgmt.containerservice", "ContainerServiceClient"),
    ("azure.mgmt.containerregistry", "ContainerRegistryManagementClient"),
    ("azure.mgmt.network", "NetworkManagementClient"),
    ("azure.mgmt.authorization", "AuthorizationManagementClient"),
    ("azure.mgmt.resource.policy", "PolicyClient"),
    ("azure.mgmt.security", "SecurityCenter"),
    ("azure.mgmt.policyinsights", "PolicyInsightsClient"),
    ("azure.mgmt.resourcegraph", "ResourceGraphClient"),
]
# Read-only operations that are POSTs on the wire, allowed explicitly.
ALLOWED_POST_OPERATIONS = {
    "list_query_results_for_resource": "PolicyInsights policyStates/latest/queryResults (a query, reads only)",
    "list_query_results_for_subscription": "PolicyInsights policyStates/latest/queryResults (a query, reads only)",
    "resources": "Resource Graph query (POST /providers/Microsoft.ResourceGraph/resources, reads only)",
}
ALLOWED_POST_PATHS = (
    re.compile(r"/providers/microsoft\.policyinsights/policystates/latest/queryresults$"),
    re.compile(r"^/providers/microsoft\.resourcegraph/resources$"),
)
KEY_PATHS = re.compile(
    r"(listkeys|listcredential|listclusteradmincredential|listclusterusercredential|regenerate|runcommand|rotate|listsecrets)",
    re.I,
)


def _sdk_groups() -> set[str]:
    """Names of the operation groups of every management client the reader uses."""
    groups: set[str] = set()
    for module, name in SDK_CLIENTS:
        cls = getattr(importlib.import_module(module), name)
        groups |= {n for n in dir(cls) if isinstance(getattr(cls, n, None), property)}
        args: tuple[Any, ...] = (FakeCredential(),) if name == "ResourceGraphClient" else (FakeCredential(), "0" * 36)
        client = cls(*args)
        groups |= {n for n, v in vars(client).items() if type(v).__name__.endswith("Operations")}
        client.close()
    return groups - {"models"}


def _own_function_names() -> set[str]:
    """Functions and methods defined in the scanned code: their bodies are scanned themselves."""
    names: set[str] = set()
    for _, tree in _trees():
        names |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    return names


def _is_read_operation(name: str) -> bool:
    return bool(re.match(r"^(get|list)(_|$)", name)) and not FORBIDDEN.match(name)


def write_calls(sources: list[tuple[str, ast.AST]], groups: set[str], own: set[str]) -> list[str]:
    """Calls of operations that write, delete or list keys, other than our own storage writes."""
    found: list[str] = []
    for rel, tree in sources:
        for call in _calls(tree):
            if not isinstance(call.func, ast.Attribute):
                continue
            name, text = call.func.attr, ast.unparse(call.func)
            if _own_write(rel, call) or not FORBIDDEN.match(name):
                continue
            receiver = call.func.value
            on_group = isinstance(receiver, ast.Attribute) and receiver.attr in groups
            if not on_group and (name in AMBIGUOUS or name in own):
                continue  # dict.update, set.update; our own functions (their bodies are scanned)
            found.append(f"{rel}:{call.lineno}: {text}(...)")
    return found


def test_no_code_path_calls_a_write_delete_or_list_keys_operation() -> None:
    found = write_calls(list(_trees()), _sdk_groups(), _own_function_names() - OWN_WRITE_NAMES)
    assert not found, "write, delete or key-listing calls:\n" + "\n".join(found)


PLANTED = """
def planted(c, client, d, self):
    c.managed_clusters.begin_create_or_update(resource_group_name="rg", resource_name="a", parameters={})
    c.managed_clusters.update("rg", "a", {})
    client.registries.list_credentials(resource_group_name="rg", registry_name="r")
    c.managed_clusters.list_cluster_admin_credentials("rg", "a")
    c.managed_clusters.begin_run_command("rg", "a", {})
    c.role_assignments.delete("scope", "name")
    client.storage_accounts.list_keys("rg", "sa")
    d.update({})
    self.used.update({"x"})
    self.store.update_dependencies("a", [], [])
    c.managed_clusters.get("rg", "a")
    c.registries.list()
"""


def test_the_write_scanner_catches_planted_writes() -> None:
    groups = _sdk_groups()
    assert {"managed_clusters", "registries", "role_assignments", "storage_accounts"} - groups <= {"storage_accounts"}
    found = write_calls([("planted.py", ast.parse(PLANTED))], groups | {"storage_accounts"}, {"update_dependencies"})
    assert [line.split(": ", 1)[1].split("(")[0] for line in found] == [
        "c.managed_clusters.begin_create_or_update",
        "c.managed_clusters.update",
        "client.registries.list_credentials",
        "c.managed_clusters.list_cluster_admin_credentials",
        "c.managed_clusters.begin_run_command",
        "c.role_assignments.delete",
        "client.storage_accounts.list_keys",
    ]


def test_every_sdk_operation_called_is_a_read() -> None:
    groups = _sdk_groups()
    operations: dict[str, list[str]] = {}
    for rel, tree in _trees():
        for call in _calls(tree):
            func = call.func
            if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute)):
                continue
            group, base = func.value.attr, func.value.value
            if group in groups and isinstance(base, ast.Name) and base.id != "self":
                operations.setdefault(f"{group}.{func.attr}", []).append(f"{rel}:{call.lineno}")
    assert len(operations) >= 10, f"the scan found too few SDK operations to mean anything: {operations}"
    writes = {op: where for op, where in operations.items() if not _is_read_operation(op.split(".", 1)[1])}
    assert not writes, writes
    posts = {op for op in operations if op.split(".", 1)[1] in ALLOWED_POST_OPERATIONS}
    assert posts <= {f"policy_states.{k}" for k in ALLOWED_POST_OPERATIONS}, posts


def test_resource_graph_queries_are_the_only_direct_client_posts() -> None:
    # `<client>.resources(request)` is the Resource Graph query (a POST that reads): the client
    # it is called on must be the one `_resource_graph()` builds (a ResourceGraphClient).
    found, wrong = [], []
    for rel, tree in _trees():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            graph_clients = {
                target.id
                for node in ast.walk(function)
                if isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and ast.unparse(node.value.func).endswith("_resource_graph")
                for target in node.targets
                if isinstance(target, ast.Name)
            }
            for call in _calls(function):
                if isinstance(call.func, ast.Attribute) and call.func.attr == "resources":
                    found.append(f"{rel}:{call.lineno}")
                    receiver = call.func.value
                    if not (isinstance(receiver, ast.Name) and receiver.id in graph_clients):
                        wrong.append(f"{rel}:{call.lineno}: {ast.unparse(call.func)}")
    assert found, "the Resource Graph queries must be found by the scan"
    assert not wrong, wrong


def _http_request_method(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name) and call.func.id == "HttpRequest":
        arg = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "method"), None)
        return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else "<not a constant>"
    return None


def test_send_request_is_only_ever_a_get() -> None:
    requests_built = []
    for rel, tree in _trees():
        for call in _calls(tree):
            method = _http_request_method(call)
            if method is not None:
                requests_built.append((rel, call.lineno, method))
            if isinstance(call.func, ast.Attribute) and call.func.attr == "send_request":
                first = call.args[0] if call.args else None
                assert isinstance(first, ast.Call) and _http_request_method(first) == "GET", (
                    f"{rel}:{call.lineno}: send_request must be given HttpRequest('GET', ...) directly"
                )
    assert requests_built, "the diagnostic-settings and subscription GETs must be found by the scan"
    assert {m for _, _, m in requests_built} == {"GET"}, requests_built


def test_no_http_verb_other_than_get_is_spelled_in_the_code() -> None:
    found = []
    for rel, tree in _trees():
        for node in ast.walk(tree):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_text and node.value.strip() in ("PUT", "PATCH", "DELETE", "POST"):
                found.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert not found, found


def test_own_writes_target_only_our_storage_queue_and_ingestion_clients() -> None:
    # Every call of a storage/queue/ingestion write method is on one of our own clients ...
    stray, files = [], set()
    for rel, tree in _trees():
        for call in _calls(tree):
            if isinstance(call.func, ast.Attribute) and call.func.attr in OWN_WRITE_METHODS:
                if _own_write(rel, call):
                    files.add(rel)
                else:
                    stray.append(f"{rel}:{call.lineno}: {ast.unparse(call.func)}")
    assert not stray, stray
    assert files == set(OWN_WRITE_CLIENTS), files
    # ... and those clients are the app's own: its tables (from its TableServiceClient), its
    # queue (QueueClient) and its Logs Ingestion client.
    tables = ROOT / "shared" / "adapters" / "tables"
    store = "".join(
        (tables / name).read_text(encoding="utf-8") for name in ("store.py", "dependencies.py", "outbox.py")
    )
    for table in ("state", "deps", "outbox_table"):
        assert re.search(rf"self\.{table}\b[^=\n]*=\s*service\.get_table_client\(", store), table
    assert "self._table = store.outbox_table" in store
    assert "QueueClient(" in (ROOT / "shared" / "adapters" / "queue.py").read_text(encoding="utf-8")
    assert "LogsIngestionClient(" in (ROOT / "shared" / "adapters" / "logs.py").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def arm() -> Iterator[ArmDouble]:
    with ArmDouble.from_folder(ESTATE, page_size=2) as double:
        yield double


def test_live_reads_of_the_sample_estate_send_only_gets_and_query_posts(arm: ArmDouble) -> None:
    arm.clear_requests()
    credential = FakeCredential()
    settings = Settings(arm_endpoint=arm.endpoint)
    kwargs: dict[str, Any] = {"connection_verify": arm.ca_path, **FAST}
    with ArmSource(credential, settings=settings, **kwargs) as source:
        for doc in targets_of(load_paths([str(ESTATE)])):
            assert source.read(doc.id).target is not None
        listed = list(ResourceGraphLister(credential, settings, **kwargs).list_targets(frozenset()))
    assert len(listed) == 7
    methods: dict[str, int] = {}
    offending = []
    for request in arm.requests:
        methods[request.method] = methods.get(request.method, 0) + 1
        path = request.lower_path
        if KEY_PATHS.search(path):
            offending.append(f"{request.method} {request.path}")
        if request.method == "GET":
            continue
        if request.method == "POST" and any(p.search(path) for p in ALLOWED_POST_PATHS):
            continue
        offending.append(f"{request.method} {request.path}")
    assert not offending, offending
    assert methods.get("GET", 0) > 20 and methods.get("POST", 0) >= 2, methods
    # The token is asked for ARM only.
    assert {scope for scopes in credential.scopes for scope in scopes} == {f"{arm.endpoint}/.default"}


# =========================================================================== (b) no secret in logs or records

ARM_TOKEN = f"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.ARM-TOKEN-{uuid.uuid4().hex}"
INGESTION_TOKEN = f"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.INGESTION-TOKEN-{uuid.uuid4().hex}"
# Claims and request details an Event Grid event carries that the monitor must not keep
# (it keeps only ChangedBy, from the UPN): each a unique marker.
EVENT_MARKERS = {
    "ipaddr": "203.0.113.77",
    "aio": f"AIO-{uuid.uuid4().hex}",
    "puid": f"PUID-{uuid.uuid4().hex}",
    "name": f"Display Name {uuid.uuid4().hex[:8]}",
    "oid": f"OID-{uuid.uuid4().hex}",
    "uti": f"UTI-{uuid.uuid4().hex}",
    "clientIpAddress": "198.51.100.23",
    "url": f"https://management.azure.com/secret-url-{uuid.uuid4().hex}",
}
# Secrets that a document could (wrongly) carry: never copied into a record.
DOCUMENT_MARKERS = {
    "adminPassword": f"P@ss-{uuid.uuid4().hex}",
    "secret": f"SP-SECRET-{uuid.uuid4().hex}",
}
FORBIDDEN_TEXT = [
    ARM_TOKEN,
    INGESTION_TOKEN,
    "Bearer ey",
    "AccountKey=",
    ACCOUNT_KEY,
    "SharedAccessSignature",
    "sig=",
    *EVENT_MARKERS.values(),
    *DOCUMENT_MARKERS.values(),
]


@dataclass
class Flow:
    world: World
    arm: ArmDouble
    ingestion: IngestionDouble
    pipeline: Pipeline
    texts: list[str]


def _event_with_markers(resource_id: str, w: World) -> dict[str, Any]:
    body = write_event(resource_id, w.clock() + timedelta(minutes=1), event_id="evt-secrets")
    body["data"]["claims"].update(
        {
            "ipaddr": EVENT_MARKERS["ipaddr"],
            "aio": EVENT_MARKERS["aio"],
            "puid": EVENT_MARKERS["puid"],
            "name": EVENT_MARKERS["name"],
            "http://schemas.microsoft.com/identity/claims/objectidentifier": EVENT_MARKERS["oid"],
            "uti": EVENT_MARKERS["uti"],
        }
    )
    body["data"]["httpRequest"] = {
        "clientRequestId": str(uuid.uuid4()),
        "clientIpAddress": EVENT_MARKERS["clientIpAddress"],
        "method": "PUT",
        "url": EVENT_MARKERS["url"],
    }
    return body


def _all_text(flow: Flow, records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter()
    texts = []
    for record in records:
        texts.append(record.getMessage())
        texts.append(repr(record.args))
        if record.exc_info:
            texts.append(formatter.formatException(record.exc_info))
    for table in (flow.world.store.state, flow.world.store.deps, flow.world.store.outbox_table):
        texts += [json.dumps(dict(e), default=str) for e in table.list_entities()]
    texts += [json.dumps(r, default=str) for r in flow.ingestion.records()]
    texts += [item.to_json() for item in flow.world.queue.items]
    return texts


@pytest.fixture
def flow(world: World, arm: ArmDouble, caplog: pytest.LogCaptureFixture) -> Iterator[Flow]:  # noqa: F811
    for name in (None, "azure", "urllib3", "shared", "functions"):
        caplog.set_level(logging.DEBUG, logger=name)
    original = arm.get(PAYMENTS)
    assert original is not None
    leaky = json.loads(json.dumps(original))
    leaky["properties"]["windowsProfile"] = {
        "adminUsername": "azureuser",
        "adminPassword": DOCUMENT_MARKERS["adminPassword"],
    }
    leaky["properties"]["servicePrincipalProfile"] = {"clientId": "msi", "secret": DOCUMENT_MARKERS["secret"]}
    arm.put(leaky)
    arm.clear_faults()
    arm.clear_requests()
    with IngestionDouble(token=INGESTION_TOKEN) as ingestion:
        settings = Settings(arm_endpoint=arm.endpoint)
        source = ArmSource(
            FakeCredential(ARM_TOKEN), settings=settings, clock=world.clock, connection_verify=arm.ca_path, **FAST
        )
        publisher = IngestionPublisher(
            ingestion.endpoint,
            ingestion.rule_id,
            "Custom-ComplianceFindings",
            "Custom-ComplianceRuns",
            FakeCredential(INGESTION_TOKEN),
            world.store.outbox(),
            connection_verify=ingestion.ca_path,
            retry_total=0,
        )
        pipeline = Pipeline(
            store=world.store,
            source=source,
            publisher=publisher,
            queue=world.queue,
            settings=settings,
            clock=world.clock,
        )
        yield Flow(world, arm, ingestion, pipeline, [])
        publisher.close()
        source.close()
    arm.put(original)
    arm.clear_faults()


def _drain(flow: Flow) -> None:
    while flow.world.queue.items:
        item = flow.world.queue.items.popleft()
        with contextlib.suppress(TransientSourceError):  # the queue would retry; an Error run was published
            flow.pipeline.process(item)


def test_no_secret_token_or_claim_reaches_logs_records_or_storage(flow: Flow, caplog: pytest.LogCaptureFixture) -> None:
    # The story in short: a scan, an event with every claim Event Grid sends, Log Analytics
    # down (records parked in the Table outbox) and back (re-sent), an ARM read refused (403)
    # and one failing (500: an Error run with the error text).
    flow.pipeline.sweep("Manual")
    _drain(flow)
    assert flow.ingestion.records(), "records were published"
    flow.ingestion.down()
    handled = flow.pipeline.handle_event(_event_with_markers(ACR, flow.world))
    assert handled.items
    _drain(flow)
    assert list(flow.world.store.outbox_table.list_entities()), "records were parked in the outbox"
    flow.ingestion.up()
    assert flow.pipeline.sweep("Manual").resent > 0
    flow.arm.deny("networksecuritygroups", "Microsoft.Network/networkSecurityGroups/read")
    flow.arm.fail("microsoft.containerregistry/registries/acrpaymentsprod$", status=500)
    flow.pipeline.handle_event(_event_with_markers(PAYMENTS, flow.world))
    flow.pipeline.handle_event(_event_with_markers(ACR, flow.world))
    _drain(flow)
    runs = flow.ingestion.records("Custom-ComplianceRuns")
    assert any(r["Outcome"] == "Error" for r in runs), "the failing read was published as an Error run"
    assert any(r.get("ChangedBy") == "maria.garcia@contoso.com" for r in runs), "ChangedBy is kept"
    texts = _all_text(flow, caplog.records)
    assert len(caplog.records) > 10, "the flow logged (DEBUG for every logger)"
    leaks = [(needle, text[:300]) for text in texts for needle in FORBIDDEN_TEXT if needle in text]
    assert not leaks, leaks
    # Only the bearer tokens authenticated: the doubles saw them, nothing else did.
    assert all(r.headers.get("authorization") == f"Bearer {ARM_TOKEN}" for r in flow.arm.requests)


def test_changed_by_is_the_only_identity_claim_kept() -> None:
    body = write_event(ACR, T0)
    body["data"]["claims"].update({"ipaddr": "203.0.113.9", "aio": "x", "appid": "app-id", "name": "N"})
    change = events.parse(body)
    assert isinstance(change, events.Change)
    assert change.changed_by == "maria.garcia@contoso.com"
    kept = json.dumps([getattr(change, f) for f in change.__dataclass_fields__], default=str)
    assert "203.0.113.9" not in kept and '"x"' not in kept and "app-id" not in kept


# =========================================================================== (c) KQL injection

WORKBOOK = ROOT / "infra" / "workbook" / "compliance.workbook.json"
ALERTS = ROOT / "infra" / "alerts"
QUERIES = ROOT / "infra" / "queries"
MAIN_BICEP = ROOT / "infra" / "main.bicep"
ALERTS_BICEP = ROOT / "infra" / "modules" / "alerts.bicep"
REFERENCE = re.compile(r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<fmt>[A-Za-z_]+))?\}")
SET_OPERATOR = re.compile(r"(?:!?in~?|has_any|has_all)\s*\(\s*$")
VERBATIM_REGEX = re.compile(r'matches\s+regex\s+@"((?:[^"]|"")*)"')
HOSTILE_VALUES = ["x' or 1==1 //", 'x" | take 100000 //', "x\\", "a'b", "' ; drop table //"]


def _kql_spans(query: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(start, end) of every string literal ('...', "...", @'...', @"...") and of every // comment."""
    strings: list[tuple[int, int]] = []
    comments: list[tuple[int, int]] = []
    i = 0
    while i < len(query):
        ch = query[i]
        if query.startswith("//", i):
            end = query.find("\n", i)
            end = len(query) if end < 0 else end
            comments.append((i, end))
            i = end
            continue
        verbatim = ch == "@" and i + 1 < len(query) and query[i + 1] in "'\""
        if ch in "'\"" or verbatim:
            quote = query[i + 1] if verbatim else ch
            j = i + (2 if verbatim else 1)
            while j < len(query):
                if not verbatim and query[j] == "\\":
                    j += 2
                    continue
                if query[j] == quote:
                    if verbatim and query[j + 1 : j + 2] == quote:
                        j += 2
                        continue
                    break
                j += 1
            strings.append((i, j))
            i = j + 1
            continue
        i += 1
    return strings, comments


def _inside_string(query: str, pos: int) -> bool:
    return any(start < pos < end for start, end in _kql_spans(query)[0])


def _inside_comment(query: str, pos: int) -> bool:
    return any(start <= pos < end for start, end in _kql_spans(query)[1])


def _workbook_items(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from _workbook_items(item.get("content", {}).get("items", []))


def _workbook() -> tuple[dict[str, dict[str, Any]], list[tuple[str, str]]]:
    """Parameters by name, and (where, query) of every query (item queries and parameter queries)."""
    assert WORKBOOK.exists(), f"{WORKBOOK.relative_to(ROOT)} is missing"
    book = json.loads(WORKBOOK.read_text(encoding="utf-8"))
    params: dict[str, dict[str, Any]] = {}
    queries: list[tuple[str, str]] = []
    for item in _workbook_items(book["items"]):
        content = item.get("content", {})
        if item.get("type") == 9:
            for p in content.get("parameters", []):
                params[p["name"]] = p
                if p.get("query"):
                    queries.append((f"parameter {p['name']}", p["query"]))
        if item.get("type") == 3 and content.get("query"):
            queries.append((f"item {item.get('name')}", content["query"]))
    return params, queries


def _value_filter(param: dict[str, Any]) -> re.Pattern[str] | None:
    """The `matches regex @"..."` a query-driven dropdown filters its values with, as a Python regex."""
    found = VERBATIM_REGEX.search(param.get("query") or "")
    return re.compile(found.group(1).replace('""', '"')) if found else None


def check_workbook_reference(query: str, match: re.Match[str], param: dict[str, Any]) -> str | None:
    """Why a parameter reference could change the query, or None when it is injection-safe."""
    name, fmt = match["name"], match["fmt"]
    kind = param.get("type")
    if kind == 4:  # time range: the workbook renders a time expression, never free text
        return None if fmt in (None, "start", "end", "grain", "label", "value") else f"{{{name}:{fmt}}}"
    if param.get("multiSelect"):
        if param.get("quote") not in ("'", '"') or param.get("delimiter") != ",":
            return f"multi-select {name} must quote every value and join them with ','"
        if not SET_OPERATOR.search(query[: match.start()]) or not query[match.end() :].lstrip().startswith(")"):
            return f"multi-select {name} must be used as `in ({{{name}}})`"
        values = _value_filter(param)
        if kind == 2 and (values is None or any(values.search(v) for v in HOSTILE_VALUES)):
            return f"multi-select {name}'s values must be filtered to exclude quotes and backslashes"
        return None
    if not _inside_string(query, match.start()):
        return f"{name} is used outside a quoted string"
    if fmt != "escape" and (kind != 2 or _value_filter(param) is None):
        return f"single value {name} in a string must use {{{name}:escape}} (or come from a filtered dropdown)"
    return None


def test_workbook_parameters_are_used_only_in_injection_safe_forms() -> None:
    params, queries = _workbook()
    assert params and queries
    problems = []
    for where, query in queries:
        assert "{{" not in query, f"{where}: a deployment placeholder inside a query"
        for match in REFERENCE.finditer(query):
            param = params.get(match["name"])
            if param is None:
                problems.append(f"{where}: {{{match['name']}}} is no parameter of the workbook")
                continue
            problem = check_workbook_reference(query, match, param)
            if problem:
                problems.append(f"{where}: {problem}")
    assert not problems, "\n".join(problems)


def test_workbook_dropdowns_never_offer_a_value_that_could_leave_its_quotes() -> None:
    params, _ = _workbook()
    for name, param in params.items():
        if param.get("type") == 2 and param.get("query"):
            values = _value_filter(param)
            assert values is not None, f"{name}: values are not filtered"
            assert values.search(PAYMENTS.lower()) and values.search(PROD), name
            assert not any(values.search(v) for v in HOSTILE_VALUES), name


@pytest.mark.parametrize(
    ("query", "safe"),
    [
        ("T | where x in ({Subs})", True),
        ("T | where x in~ ({Subs}) ", True),
        ("T | where x == {Subs}", False),
        ("T | where x == '{One:escape}'", True),
        ('T | where x == "{One:escape}"', True),
        ("T | where x == {One:escape}", False),
        ("T | where x == '{One}'", False),
        ("T | where x has {One}", False),
        ("T | where x == 'a' and y == {One:escape} // '{One:escape}'", False),
        ("T | where TimeGenerated {Range}", True),
        ("T | summarize by bin(TimeGenerated, {Range:grain})", True),
    ],
)
def test_the_workbook_checker_tells_safe_from_unsafe(query: str, safe: bool) -> None:
    params = {
        "Subs": {
            "type": 2,
            "multiSelect": True,
            "quote": "'",
            "delimiter": ",",
            "query": 'T | where v matches regex @"^[^\'""\\\\]+$"',
        },
        "One": {"type": 1},
        "Range": {"type": 4},
    }
    verdicts = [check_workbook_reference(query, m, params[m["name"]]) for m in REFERENCE.finditer(query)]
    assert verdicts
    assert all(v is None for v in verdicts) is safe, verdicts


def _alert_and_saved_queries() -> list[Path]:
    files = sorted([*ALERTS.glob("*.kql"), *QUERIES.glob("*.kql")])
    assert files, "infra/alerts and infra/queries hold no queries"
    return files


def test_alert_queries_take_resource_names_from_columns_not_from_text() -> None:
    problems = []
    for path in _alert_and_saved_queries():
        query = path.read_text(encoding="utf-8")
        code = "\n".join(line for line in query.splitlines() if not line.lstrip().startswith("//"))
        if "/subscriptions/" in code.lower():
            problems.append(f"{path.name}: a literal resource id")
        if "${" in code:
            problems.append(f"{path.name}: a Bicep interpolation inside the query")
        for call in re.finditer(r"strcat\s*\(([^)]*)\)", code):
            if "{{" in call.group(1) or re.search(r"\{[A-Za-z]", call.group(1)):
                problems.append(f"{path.name}: a placeholder concatenated into text: {call.group(0)[:80]}")
        if re.search(r"\b(ResourceName|ResourceId)\s*(==|=~|has|contains)\s*['\"]", code):
            problems.append(f"{path.name}: compares a resource name or id with a literal")
    assert not problems, "\n".join(problems)


def test_alert_placeholders_are_filled_only_with_safe_values() -> None:
    # {{NAME}} placeholders are filled at deployment by main.bicep from its parameters. Inside a
    # string literal, the value must be stripped of quotes and backslashes; bare, it must be a
    # number (string() of an int parameter).
    files = _alert_and_saved_queries()
    # main.bicep passes the parameters; modules/alerts.bicep fills the placeholders in.
    bicep = "\n".join(p.read_text(encoding="utf-8") for p in (MAIN_BICEP, ALERTS_BICEP) if p.exists())
    problems = []
    for path in files:
        code = path.read_text(encoding="utf-8")
        for match in re.finditer(r"\{\{([A-Z_]+)\}\}", code):
            if _inside_comment(code, match.start()):
                continue
            name = match.group(1)
            fill = re.search(r"'\{\{" + name + r"\}\}',\s*((?:[^()]|\([^()]*\))+?)\)", bicep)
            if fill is None:
                problems.append(f"{path.name}: {{{{{name}}}}} is not filled by main.bicep")
                continue
            value = fill.group(1).strip()
            if _inside_string(code, match.start()):
                var = re.search(r"\bvar\s+" + re.escape(value) + r"\s*=\s*(.+)", bicep)
                strips = var is not None and "'\"'" in var.group(1) and "\\u{5C}" in var.group(1)
                if not strips:
                    problems.append(f"{path.name}: {{{{{name}}}}} in a string, filled with {value} unstripped")
            else:
                arg = re.fullmatch(r"string\((\w+)\)", value)
                is_int = arg is not None and re.search(r"\bparam\s+" + arg.group(1) + r"\s+int\b", bicep)
                if not is_int:
                    problems.append(f"{path.name}: bare {{{{{name}}}}} filled with {value}, not an int parameter")
    assert not problems, "\n".join(problems)


# =========================================================================== (d) settings


def test_settings_reject_a_connection_string_together_with_identity_uris(caplog: pytest.LogCaptureFixture) -> None:
    connection = (
        f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={ACCOUNT_KEY};EndpointSuffix=core.windows.net"
    )
    caplog.set_level(logging.DEBUG)
    for extra in ("ComplianceStorage__tableServiceUri", "ComplianceStorage__queueServiceUri"):
        env = {"ComplianceStorage": connection, extra: "https://acct.table.core.windows.net"}
        with pytest.raises(SettingsError) as error:
            Settings.from_env(env)
        assert ACCOUNT_KEY not in str(error.value) and "AccountKey" not in str(error.value)
    assert not [r for r in caplog.records if ACCOUNT_KEY in r.getMessage()]


def test_settings_are_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = f"AccountKey={ACCOUNT_KEY}"
    env = {
        "ComplianceStorage": f"DefaultEndpointsProtocol=http;AccountName=a;{secret};TableEndpoint=http://127.0.0.1:1/a;",
        "LOGS_INGESTION_ENDPOINT": "https://dce.example.ingest.monitor.azure.com",
        "LOGS_DCR_IMMUTABLE_ID": "dcr-0123",
        "SCOPE_SUBSCRIPTIONS": PROD,
    }
    Settings.from_env(env)
    with pytest.raises(SettingsError):
        Settings.from_env({**env, "SHARED_CACHE_SECONDS": "soon"})
    assert not caplog.records, [r.getMessage() for r in caplog.records]


# The one place a connection string is printed on purpose: `aks-compliance dev-storage` tells the
# user how to reach the local emulator, whose account is Azurite's public development account
# (documented, fixed, valid against the emulator only) and never a real storage account's key.
PRINTS_THE_EMULATOR = {"shared/cli/dev_storage.py"}


def test_no_code_logs_a_settings_object_or_a_connection_string() -> None:
    found = []
    for rel, tree in _trees():
        if rel in PRINTS_THE_EMULATOR:
            continue
        for call in _calls(tree):
            func = call.func
            is_log = isinstance(func, ast.Attribute) and func.attr in (
                "debug", "info", "warning", "error", "exception", "critical", "log",
            ) and isinstance(func.value, ast.Name) and func.value.id in ("log", "logger", "_LOG", "LOG", "logging")  # fmt: skip
            is_print = isinstance(func, ast.Name) and func.id == "print"
            if not (is_log or is_print):
                continue
            for arg in [*call.args, *(k.value for k in call.keywords)]:
                values = (
                    [v.value for v in arg.values if isinstance(v, ast.FormattedValue)]
                    if isinstance(arg, ast.JoinedStr)
                    else [arg]
                )
                text = " ".join(ast.unparse(v) for v in values if not isinstance(v, ast.Constant))
                if re.search(r"\bsettings\b(?!\.\w)|connection_string|storage_connection_string|credential\b", text):
                    found.append(f"{rel}:{call.lineno}: {ast.unparse(call)[:120]}")
    assert not found, found


# =========================================================================== (e) dependencies

PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9_,.-]+\])?==[A-Za-z0-9][A-Za-z0-9.+!_-]*$")


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>!~ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_requirement_is_pinned_exactly() -> None:
    lines = [
        line.split("#", 1)[0].strip() for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    ]
    requirements = [line for line in lines if line]
    assert requirements
    unpinned = [r for r in requirements if not PIN.match(r)]
    assert not unpinned, unpinned


def test_every_pyproject_dependency_is_pinned_exactly_and_agrees_with_requirements() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"dependencies": project["dependencies"], **project.get("optional-dependencies", {})}
    unpinned = [f"{group}: {r}" for group, reqs in groups.items() for r in reqs if not PIN.match(r.strip())]
    assert not unpinned, unpinned
    pinned = {
        _name(line): line.split("==", 1)[1].strip()
        for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }
    disagree = [
        f"{r} vs requirements.txt {pinned[_name(r)]}"
        for reqs in groups.values()
        for r in reqs
        if _name(r) in pinned and r.split("==", 1)[1] != pinned[_name(r)]
    ]
    assert not disagree, disagree


# =========================================================================== (f) least privilege in the deployment

# Built-in role definition ids (the same in every tenant).
ALLOWED_ROLES = {
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader (watched subscriptions)",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner (the app's own host storage)",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor (the app's own queues)",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor (the app's own tables)",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher (its DCR, its Application Insights)",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor (Event Grid dead letters)",
}
FORBIDDEN_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
    "81a9662b-bebf-436f-a333-f67b29880f12": "Storage Account Key Operator Service Role",
    "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8": "Azure Kubernetes Service Cluster Admin Role",
    "4abbcc35-e782-43d8-92c5-2d3f1bd2253f": "Azure Kubernetes Service Cluster User Role",
    "ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8": "Azure Kubernetes Service Contributor Role",
    "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b": "Azure Kubernetes Service RBAC Cluster Admin",
    "8311e382-0749-4cb8-b61a-304f252e45ec": "AcrPush",
    "c2f4ef07-c644-48eb-af81-4b1b4947fb11": "AcrDelete",
    "4d97b98b-1d4f-4787-a291-c67834d212e7": "Network Contributor",
    "749f88d5-cbae-40b8-bcfc-e573ddc772fa": "Monitoring Contributor",
    "36243c78-bf99-498c-9df9-86d9f8d28608": "Resource Policy Contributor",
}
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def test_the_deployment_grants_only_reader_and_data_roles() -> None:
    bicep = sorted((ROOT / "infra").rglob("*.bicep"))
    assert bicep, "infra/ holds no Bicep"
    granted: dict[str, list[str]] = {}
    problems = []
    for path in bicep:
        text = path.read_text(encoding="utf-8")
        for guid in GUID.findall(text):
            guid = guid.lower()
            if guid in FORBIDDEN_ROLES:
                problems.append(f"{_rel(path)}: {FORBIDDEN_ROLES[guid]}")
            if guid in ALLOWED_ROLES:
                granted.setdefault(guid, []).append(_rel(path))
        if re.search(r"\blist(Keys|AccountSas|ServiceSas|Credentials?|Secrets)\s*\(", text):
            problems.append(f"{_rel(path)}: reads a key or secret at deployment")
    assert not problems, problems
    reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
    assert reader in granted, "the identity reads the watched subscriptions with Reader"
    for path in granted[reader]:
        assert "targetScope = 'subscription'" in (ROOT / path).read_text(encoding="utf-8"), path


def test_app_settings_hold_no_keys_or_connection_strings() -> None:
    bicep = sorted((ROOT / "infra").rglob("*.bicep"))
    assert bicep, "infra/ holds no Bicep"
    text = "\n".join(p.read_text(encoding="utf-8") for p in bicep)
    assert "AccountKey" not in text and "SharedAccessSignature" not in text
    assert not re.search(r"name:\s*'ComplianceStorage'\s*\n\s*value:", text), "ComplianceStorage as a connection string"
    assert not re.search(r"name:\s*'AzureWebJobsStorage'\s*\n\s*value:", text), (
        "AzureWebJobsStorage as a connection string"
    )


# =========================================================================== exemption tags


def test_a_tag_exemption_is_recorded_as_exempt_with_its_evidence_and_who_set_it(world: World) -> None:  # noqa: F811
    # Anyone with tag write on a resource can exempt it. The monitor cannot stop that, but it
    # never hides it: the finding is Exempt (not Pass), says what it would be and why, and the
    # history row names who made the change; other resources are not affected.
    world.scan()

    def exempt_and_open(doc: dict[str, Any]) -> None:
        doc["tags"]["compliance-exempt"] = "*"
        doc["tags"]["note"] = "x' or 1==1 | <script>"  # hostile tag values are data
        doc["properties"]["publicNetworkAccess"] = "Enabled"
        doc["properties"]["networkRuleSet"]["defaultAction"] = "Allow"

    world.edit(ACR, exempt_and_open)
    world.pipeline.handle_event(write_event(ACR, world.clock(), event_id="tagged"))
    while world.queue.items:
        world.pipeline.process(world.queue.items.popleft())
    rows = world.store.control_rows(ACR)
    row = rows["ACR.PublicNetworkAccessDisabled"]
    assert row["Status"] == "Exempt"
    evidence = json.loads(row["Evidence"])
    assert evidence["exemption"]["source"] == "tag" and evidence["wouldBe"] == "Fail"
    assert "Exempt" in row["Reason"] and "would be Fail" in row["Reason"]
    assert {r["Status"] for r in rows.values()} <= {"Exempt", "NotApplicable"}  # "*" exempts every control
    change = next(h for h in world.store.history_records(ACR) if h["ControlId"] == "ACR.PublicNetworkAccessDisabled")
    assert change["Status"] == "Exempt" and change["ChangedBy"] == "maria.garcia@contoso.com"
    assert change["EventId"] == "tagged"
    assert json.loads(row["Tags"])["note"] == "x' or 1==1 | <script>"
    # The cluster that pulls from the registry is judged on its own tags, not the registry's.
    assert all(r["Status"] != "Exempt" for r in world.store.control_rows(PAYMENTS).values())


def test_a_tag_change_through_the_tags_api_is_found_by_the_sweep_without_attribution(world: World) -> None:  # noqa: F811
    # `az tag update` / Tag Contributor write Microsoft.Resources/tags, a type no verdict reads:
    # the event door drops it, so the exemption shows at the next sweep, with no ChangedBy.
    # SECURITY.md says how to detect it (Activity Log); this pins the behaviour it describes.
    world.scan()

    def exempt_and_open(doc: dict[str, Any]) -> None:
        doc["tags"]["compliance-exempt"] = "ACR.PublicNetworkAccessDisabled"
        doc["properties"]["publicNetworkAccess"] = "Enabled"
        doc["properties"]["networkRuleSet"]["defaultAction"] = "Allow"

    world.edit(ACR, exempt_and_open)
    tags = f"{ACR}/providers/Microsoft.Resources/tags/default"
    handled = world.pipeline.handle_event(write_event(tags, world.clock(), operation="Microsoft.Resources/tags/write"))
    assert handled.dropped and not handled.items
    world.pipeline.sweep()
    while world.queue.items:
        world.pipeline.process(world.queue.items.popleft())
    change = next(h for h in world.store.history_records(ACR) if h["ControlId"] == "ACR.PublicNetworkAccessDisabled")
    assert change["Status"] == "Exempt" and change["Trigger"] == "Schedule" and change["ChangedBy"] == ""


# =========================================================================== (e) pip-audit, offline-safe


def test_audit_reports_a_vulnerability_with_exit_code_1() -> None:
    from devtools import audit

    report = {
        "dependencies": [
            {"name": "requests", "version": "2.19.0", "vulns": [{"id": "PYSEC-2018-28", "fix_versions": ["2.20.0"], "aliases": ["CVE-2018-18074"]}]},
            {"name": "idna", "version": "3.10", "vulns": []},
        ]
    }  # fmt: skip
    result = audit.interpret(1, json.dumps(report), "")
    assert result.exit_code == 1 and not result.skipped and result.audited == 2
    assert result.vulnerabilities[0].id == "PYSEC-2018-28" and result.vulnerabilities[0].fix_versions == ("2.20.0",)


@pytest.mark.parametrize(
    "stderr",
    [
        "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): Max retries exceeded",
        "requests.exceptions.ProxyError: Unable to connect to proxy",
        "NameResolutionError: Failed to resolve 'api.osv.dev' ([Errno -2] Name or service not known)",
        "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='pypi.org', port=443): Read timed out.",
    ],
)
def test_audit_is_skipped_with_a_clear_message_when_the_database_is_unreachable(stderr: str) -> None:
    from devtools import audit

    result = audit.interpret(1, None, "Traceback (most recent call last):\n  ...\n" + stderr)
    assert result.skipped and result.exit_code == 0


def test_audit_is_skipped_when_no_package_could_be_looked_up() -> None:
    from devtools import audit

    report = {
        "dependencies": [
            {"name": n, "skip_reason": f"Dependency not found on PyPI and could not be audited: {n}"}
            for n in ("a", "b")
        ]
    }
    result = audit.interpret(0, json.dumps(report), "")
    assert result.skipped and result.exit_code == 0


def test_audit_fails_loudly_when_it_cannot_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from devtools import audit

    with pytest.raises(audit.AuditError):
        audit.interpret(2, None, "error: unrecognized arguments: --bogus")
    loose = tmp_path / "requirements.txt"
    loose.write_text("requests>=2\n")
    with pytest.raises(audit.AuditError, match="not pinned"):
        audit.pinned([loose])
    monkeypatch.setattr(audit, "pip_audit_available", lambda: False)
    assert audit.main([]) == 2
    assert "pip-audit is not installed" in capsys.readouterr().err


def test_audit_prints_the_skip_and_exits_0_offline(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from devtools import audit

    monkeypatch.setattr(audit, "pip_audit_available", lambda: True)
    monkeypatch.setattr(audit, "run_pip_audit", lambda versions, **kw: audit.Result(skipped="no answer within 5 s"))
    assert audit.main(["--direct-only"]) == 0
    out = capsys.readouterr().out
    assert "skipped: advisory database unreachable (no answer within 5 s)" in out
    monkeypatch.setattr(
        audit,
        "run_pip_audit",
        lambda versions, **kw: audit.Result(audited=1, vulnerabilities=[audit.Vulnerability("x", "1", "GHSA-1", ())]),
    )
    assert audit.main(["--direct-only"]) == 1
    assert "VULNERABLE x==1: GHSA-1" in capsys.readouterr().out


def test_audit_covers_the_pins_and_what_they_pull_in() -> None:
    from devtools import audit

    pins = audit.pinned([audit.DEFAULT_REQUIREMENTS])
    versions, _ = audit.closure(pins)
    assert set(pins) <= set(versions)
    assert {"requests", "urllib3", "cryptography", "msal"} <= set(versions), sorted(versions)
    assert all(versions[name] == version for name, version in pins.items())


# =========================================================================== SECURITY.md stays true


def test_security_md_names_only_tests_that_exist() -> None:
    # Every `tests/<file>.py::<test>` (and `::<test>`, meaning the file named before it) in
    # SECURITY.md is a test function of that file.
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    named: list[tuple[str, str]] = []
    current = ""
    for match in re.finditer(r"(?:(?:tests/)?(test_\w+\.py))?::(test_\w+)", text):
        current = match.group(1) or current
        assert current, f"{match.group(0)} names no file"
        named.append((current, match.group(2)))
    assert len(named) > 40
    missing = []
    for file, name in named:
        tree = ast.parse((ROOT / "tests" / file).read_text(encoding="utf-8"))
        if name not in {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}:
            missing.append(f"{file}::{name}")
    assert not missing, missing
