"""Configuration from environment variables / app settings, validated once.

No secrets live here: in Azure every connection is identity-based
(``ComplianceStorage__tableServiceUri`` / ``__queueServiceUri`` with the managed
identity); a connection string is accepted for Azurite and local runs only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared.core import ids

STORAGE_PREFIX = "ComplianceStorage"
WORK_QUEUE = "compliance-work"
_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    # Storage: either a connection string (Azurite, local) or service URIs (managed identity).
    storage_connection_string: str | None = None
    table_service_uri: str | None = None
    queue_service_uri: str | None = None
    managed_identity_client_id: str | None = None
    work_queue: str = WORK_QUEUE
    state_table: str = "ComplianceState"
    deps_table: str = "ComplianceDeps"
    outbox_table: str = "ComplianceOutbox"
    # Logs Ingestion: with no DCR configured, records go to a local JSON-lines file.
    logs_ingestion_endpoint: str | None = None
    logs_dcr_immutable_id: str | None = None
    logs_findings_stream: str = "Custom-ComplianceFindings"
    logs_runs_stream: str = "Custom-ComplianceRuns"
    logs_file: Path = Path("out/compliance-logs.jsonl")
    # ARM: configurable for sovereign clouds.
    arm_endpoint: str = "https://management.azure.com"
    authority_host: str | None = None
    # Which subscriptions are watched; empty means whatever the identity can read.
    scope_subscriptions: frozenset[str] = field(default_factory=frozenset)
    sweep_schedule: str = "0 0 * * * *"
    shared_cache_seconds: int = 300
    hub_subscriptions: frozenset[str] = field(default_factory=frozenset)
    config_path: Path | None = None  # COMPLIANCE_CONFIG: parameters, exemptions (YAML or JSON)
    # Compliance changes out (CloudEvents); with no topic, JSON lines beside the logs.
    events_endpoint: str | None = None
    events_file: Path = Path("out/compliance-events.jsonl")
    events_source: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value and value.strip() else None

        def subs(name: str) -> frozenset[str]:
            raw = get(name) or ""
            out = set()
            for part in raw.replace(";", ",").split(","):
                part = part.strip().lower()
                if not part:
                    continue
                if part.startswith("/subscriptions/"):
                    part = ids.parse(part).subscription
                if not _is_guid(part):
                    raise SettingsError(f"{name}: {part!r} is not a subscription id")
                out.add(part)
            return frozenset(out)

        conn = get(STORAGE_PREFIX)
        table_uri = get(f"{STORAGE_PREFIX}__tableServiceUri")
        queue_uri = get(f"{STORAGE_PREFIX}__queueServiceUri")
        if conn and (table_uri or queue_uri):
            raise SettingsError(f"set either {STORAGE_PREFIX} or {STORAGE_PREFIX}__tableServiceUri/__queueServiceUri")
        for var in ("COMPLIANCE_STATE_TABLE", "COMPLIANCE_DEPS_TABLE", "COMPLIANCE_OUTBOX_TABLE"):
            name = get(var)
            if name is not None and not _TABLE_NAME.match(name):
                raise SettingsError(f"{var}: {name!r} is not a table name (a letter, then 2-62 letters or digits)")
        cache = get("SHARED_CACHE_SECONDS") or "300"
        if not cache.isdigit():
            raise SettingsError(f"SHARED_CACHE_SECONDS: {cache!r} is not a number of seconds")
        return cls(
            storage_connection_string=conn,
            table_service_uri=table_uri,
            queue_service_uri=queue_uri,
            managed_identity_client_id=get(f"{STORAGE_PREFIX}__clientId") or get("AZURE_CLIENT_ID"),
            state_table=get("COMPLIANCE_STATE_TABLE") or cls.state_table,
            deps_table=get("COMPLIANCE_DEPS_TABLE") or cls.deps_table,
            outbox_table=get("COMPLIANCE_OUTBOX_TABLE") or cls.outbox_table,
            logs_ingestion_endpoint=get("LOGS_INGESTION_ENDPOINT"),
            logs_dcr_immutable_id=get("LOGS_DCR_IMMUTABLE_ID"),
            logs_findings_stream=get("LOGS_FINDINGS_STREAM") or cls.logs_findings_stream,
            logs_runs_stream=get("LOGS_RUNS_STREAM") or cls.logs_runs_stream,
            logs_file=Path(get("COMPLIANCE_LOGS_FILE") or cls.logs_file),
            arm_endpoint=(get("ARM_ENDPOINT") or cls.arm_endpoint).rstrip("/"),
            authority_host=get("AZURE_AUTHORITY_HOST"),
            scope_subscriptions=subs("SCOPE_SUBSCRIPTIONS"),
            sweep_schedule=get("SWEEP_SCHEDULE") or cls.sweep_schedule,
            shared_cache_seconds=int(cache),
            hub_subscriptions=subs("HUB_SUBSCRIPTIONS"),
            config_path=Path(cfg) if (cfg := get("COMPLIANCE_CONFIG")) else None,
            events_endpoint=get("COMPLIANCE_EVENTS_ENDPOINT"),
            events_file=Path(get("COMPLIANCE_EVENTS_FILE") or cls.events_file),
            events_source=get("COMPLIANCE_EVENTS_SOURCE"),
        )

    def in_scope(self, subscription: str) -> bool:
        return not self.scope_subscriptions or subscription.lower() in self.scope_subscriptions


def _is_guid(text: str) -> bool:
    parts = text.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(c in "0123456789abcdef-" for c in text)
