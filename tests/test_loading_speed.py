# The fast paths of loading and evaluation give what the plain paths give (issue 18): orjson reads
# as json does, the common id shapes parse as the general walk parses them, folding shares keys
# without changing a document, a consumed payload folds as a kept one, and a finding's deferred
# fields read as the text they stand for.

from __future__ import annotations

import codecs
import dataclasses
import json
import pickle
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.synthetic import estate as synthetic_estate
from shared.core import ids
from shared.core.documents import Estate, LoadError, fold
from shared.core.inputs import decode_text, load_json_bytes, load_json_text
from shared.core.model import Finding
from shared.evaluation.config import Config
from shared.evaluation.engine import evaluate_estate, evaluate_target, iter_evaluate_estate, targets_of

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


# --------------------------------------------------------------------------- reading


def _by_json(data: bytes) -> Any:
    """What reading did before orjson: decode (BOM stripped), then json, with their messages."""
    return load_json_text(decode_text(data, "f.json"), "f.json")


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (1 is not 1.0, nan is nan)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and a != a:
        return b != b
    return bool(a == b)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans(), st.sampled_from([None, 1, 2]))
def test_orjson_reads_what_json_reads(value: Any, bom: bool, indent: int | None) -> None:
    data = json.dumps(value, indent=indent, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if bom:
        data = codecs.BOM_UTF8 + data
    try:
        expected = _by_json(data)
    except LoadError as exc:
        with pytest.raises(LoadError) as got:
            load_json_bytes(data, "f.json")
        assert str(got.value) == str(exc)
        return
    assert _same(load_json_bytes(data, "f.json"), expected)


@pytest.mark.parametrize(
    "data",
    [
        b'{"n": 123456789012345678901234567890}',  # orjson would give a float
        b'{"n": -9223372036854775809}',
        b'{"n": 18446744073709551616}',
        b'{"id": "\\ud800"}',  # a lone surrogate: orjson refuses, json keeps it
        b'{"n": NaN, "m": -Infinity}',
        b"\xef\xbb\xbf{}",
        b'{"a": 1, "a": 2}',
        b"[" * 5000 + b"]" * 5000,
        b'{"a": "\xc0\xaf"}',
        b'{"a": 1,}',
        b"",
        b'{"n": 1e400}',
    ],
)
def test_orjson_falls_back_to_json_where_they_differ(data: bytes) -> None:
    try:
        expected = _by_json(data)
    except LoadError as exc:
        with pytest.raises(LoadError) as got:
            load_json_bytes(data, "f.json")
        assert str(got.value) == str(exc)
        return
    assert _same(load_json_bytes(data, "f.json"), expected)


# --------------------------------------------------------------------------- ids


def _reference_parse(resource_id: str) -> tuple[str, ...]:
    """The general walk, as ids.parse was before its fast path (the fields in order)."""
    rid = ids.normalise(resource_id)
    parts = [p for p in rid.split("/") if p]
    sub = rg = ""
    i = 0
    if len(parts) >= 2 and parts[0] == "subscriptions":
        sub, i = parts[1], 2
    if len(parts) >= i + 2 and parts[i] == "resourcegroups":
        rg, i = parts[i + 1], i + 2
    provider, types, name, parent, scope_end = "", [], "", "", i
    while i < len(parts):
        if parts[i] == "providers" and i + 1 < len(parts):
            scope_end, provider, types, name = i, parts[i + 1], [], ""
            i += 2
            continue
        if not provider:
            break
        types.append(parts[i])
        name = parts[i + 1] if i + 1 < len(parts) else ""
        if name and len(types) > 1:
            parent = "/" + "/".join(parts[:i])
        i += 2
    if provider:
        rtype = "/".join([provider, *types])
        if len(types) == 1:
            parent = "/" + "/".join(parts[:scope_end]) if scope_end else ""
    elif rg:
        rtype, name, parent = "microsoft.resources/resourcegroups", rg, f"/subscriptions/{sub}"
    elif sub:
        rtype, name, parent = "microsoft.resources/subscriptions", sub, ""
    else:
        rtype = ""
    return (rid, sub, rg, provider, rtype, name, parent)


SEGMENTS = ["subscriptions", "resourceGroups", "providers", "PROVIDERS", "Microsoft.Network", "vnet", "x", "", " "]


@settings(max_examples=2000, deadline=None)
@given(
    st.sampled_from(["/subscriptions/S/resourceGroups/R/providers/", "/subscriptions/S/", "/", "", "//"]),
    st.lists(st.sampled_from(SEGMENTS), max_size=12),
    st.sampled_from(["", "/", "//", " "]),
)
def test_parse_id_is_the_general_walk(head: str, segments: list[str], tail: str) -> None:
    rid = head + "/".join(segments) + tail
    expected = _reference_parse(rid)
    assert tuple(ids.parse_id(rid)) == expected
    assert tuple(ids.parse_id(rid, {})) == expected
    assert tuple(ids.parse(rid)) == expected


def test_parse_id_shares_the_parts_of_ids_parsed_together() -> None:
    strings: dict[str, str] = {}
    a = ids.parse_id("/subscriptions/S/resourceGroups/R/providers/Microsoft.Network/virtualNetworks/v1", strings)
    b = ids.parse_id("/SUBSCRIPTIONS/s/resourcegroups/r/providers/microsoft.network/virtualNetworks/v2", strings)
    assert a.subscription is b.subscription and a.type is b.type and a.parent is b.parent


# --------------------------------------------------------------------------- folding


def test_folded_documents_share_one_string_per_key() -> None:
    estate = Estate()
    estate.add_payload({"value": [_vnet("v1"), _vnet("v2")]}, "vnets.json")
    first, second = (estate.get(_vnet_id(n)) for n in ("v1", "v2"))
    assert first is not None and second is not None
    assert [k for k in first.data] == [k for k in second.data]
    assert all(a is b for a, b in zip(first.data, second.data, strict=True))
    assert first.property_keys is second.property_keys


def test_a_consumed_payload_folds_as_a_kept_one() -> None:
    payloads = synthetic_estate(12, 2)
    kept, consumed = Estate(), Estate()
    for i, payload in enumerate(payloads):
        kept.add_payload(payload, f"p[{i}]")
    copies = json.loads(json.dumps(payloads))
    for i, payload in enumerate(copies):
        consumed.add_payload(payload, f"p[{i}]", consume=True)
    assert list(kept.docs) == list(consumed.docs)
    for key, doc in kept.docs.items():
        other = consumed.docs[key]
        assert (doc.data, doc.type, doc.origin, doc.embedded, doc.property_keys) == (
            other.data,
            other.type,
            other.origin,
            other.embedded,
            other.property_keys,
        )
    # The consumed lists were emptied as their items were folded; the kept ones are untouched.
    assert all(item is None for p in copies if isinstance(p, dict) and "value" in p for item in p["value"])
    assert json.dumps(payloads) == json.dumps(synthetic_estate(12, 2))


def test_fold_with_a_shared_key_cache_is_fold_without_one() -> None:
    doc = {"ID": "/subscriptions/s", "Properties": {"enableRBAC": True, "Nested": [{"A": 1, "properties": None}]}}
    keys: dict[Any, str] = {}
    assert fold(doc, None, 0, keys) == fold(doc) == fold(json.loads(json.dumps(doc)), None, 0, keys)


def _vnet_id(name: str) -> str:
    return f"/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/{name}"


def _vnet(name: str) -> dict[str, Any]:
    return {
        "id": _vnet_id(name),
        "name": name,
        "type": "Microsoft.Network/virtualNetworks",
        "properties": {"provisioningState": "Succeeded", "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}},
    }


# --------------------------------------------------------------------------- findings


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    estate = Estate()
    for i, payload in enumerate(synthetic_estate(6, 1)):
        estate.add_payload(payload, f"p[{i}]")
    return [f for r in evaluate_estate(estate, now=NOW) for f in r.findings]


def test_deferred_fields_read_as_text(findings: list[Finding]) -> None:
    # Remediations with the target's names filled in (deferred until read) and ones without placeholders.
    assert any(f.ResourceName in f.Remediation for f in findings)
    assert any(f.ResourceName not in f.Remediation for f in findings)
    for f in findings:
        assert isinstance(f.RecordId, str) and len(f.RecordId) == 32
        assert isinstance(f.Remediation, str)
        record = f.to_record()
        assert record["RecordId"] == f.RecordId and record["Remediation"] == f.Remediation
        again = Finding.from_record(record)
        assert again == f and f == again
        assert dataclasses.replace(f, Status="Fail").RecordId == f.RecordId
        assert pickle.loads(pickle.dumps(f)) == f
        assert repr(f) == repr(again)


def test_to_record_fast_path_is_the_generic_one(findings: list[Finding]) -> None:
    f = findings[0]
    generic = dataclasses.replace(
        f,
        TimeGenerated=NOW.astimezone(timezone(timedelta(hours=2))),  # an aware time in another zone
        SourceReadAt=NOW.replace(tzinfo=None),  # a naive one, taken as UTC
        Evidence=MappingProxyType(dict(f.Evidence)),  # not a dict: the generic path
    )
    record = generic.to_record()
    assert record == {**f.to_record(), "TimeGenerated": record["TimeGenerated"]}
    assert record["TimeGenerated"] == record["SourceReadAt"] == "2026-11-26T12:00:00.000000Z"
    assert list(record) == list(f.to_record())


def test_one_plan_per_configuration() -> None:
    estate = Estate()
    for i, payload in enumerate(synthetic_estate(3, 1)):
        estate.add_payload(payload, f"p[{i}]")
    doc = targets_of(estate)[0]
    plain = evaluate_target(doc, estate, now=NOW)
    disabled = Config(disabled=frozenset({plain.findings[0].ControlId}))
    fewer = evaluate_target(doc, estate, now=NOW, config=disabled)
    assert len(fewer.findings) == len(plain.findings) - 1
    assert [f.to_record() for f in evaluate_target(doc, estate, now=NOW).findings] == [
        f.to_record() for f in plain.findings
    ]
    streamed = [r.findings for r in iter_evaluate_estate(estate, now=NOW)]
    assert [[f.to_record() for f in fs] for fs in streamed] == [
        [f.to_record() for f in r.findings] for r in evaluate_estate(estate, now=NOW)
    ]


def test_a_large_input_is_read_as_text(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.core import inputs

    path = tmp_path / "big.json"
    path.write_bytes(codecs.BOM_UTF8 + json.dumps({"value": [_vnet("v1")], "n": 2**70}).encode())
    small = inputs.read_json(str(path))
    monkeypatch.setattr(inputs, "LARGE_INPUT_BYTES", 10)
    large = inputs.read_json(str(path))
    assert _same(small[1], large[1]) and small[0] == large[0]
    path.write_bytes(b'{"a": \xc0}')
    with pytest.raises(LoadError, match="not UTF-8 text"):
        inputs.read_json(str(path))


def test_a_cap_of_many_gigabytes_reads_a_small_file(tmp_path: Any) -> None:
    from shared.core.inputs import load_paths, read_bytes

    path = tmp_path / "vnets.json"
    path.write_text(json.dumps({"value": [_vnet("v1")]}), encoding="utf-8")
    assert len(load_paths([str(path)], max_bytes=1 << 50).docs) == 1  # no buffer of the cap's size
    with pytest.raises(LoadError, match="over the input cap"):
        read_bytes(str(path), 10)
