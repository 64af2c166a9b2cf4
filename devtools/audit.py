"""Known vulnerabilities in the pinned dependencies, with pip-audit; offline-safe.

    python -m devtools.audit                      # requirements.txt and what its pins pull in
    python -m devtools.audit -r other.txt         # other pinned files (repeatable)
    python -m devtools.audit --direct-only        # only the lines of the files

What is audited: every ``name==version`` line of the requirements files (the Function
App's runtime dependencies), plus, unless ``--direct-only``, every package those pins
pull in, at the version installed in this environment (the transitive closure from the
installed metadata, environment markers evaluated). pip-audit gets the list as exact
pins with ``--no-deps --disable-pip``: nothing is resolved or installed, only looked up.

Exit codes: 0 no known vulnerability, or the audit was skipped because the advisory
database cannot be reached (offline: the message says ``skipped: advisory database
unreachable (...)``); 1 at least one known vulnerability (each is printed with its fix
versions); 2 the audit cannot run at all (pip-audit missing, a requirement not pinned).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REQUIREMENTS = ROOT / "requirements.txt"
PIP_AUDIT_PIN = "pip-audit==2.10.1"
SKIPPED = "skipped: advisory database unreachable"

# What a lookup that never reached the advisory service looks like in pip-audit's output.
_UNREACHABLE = re.compile(
    r"ConnectionError|ConnectTimeout|ReadTimeout|ProxyError|SSLError|NameResolutionError|Max retries exceeded"
    r"|Temporary failure in name resolution|Name or service not known|Network is unreachable|timed out"
    r"|Connection refused|Connection reset|RemoteDisconnected",
    re.IGNORECASE,
)
_NOT_FOUND = "Dependency not found on PyPI"


class AuditError(Exception):
    """The audit cannot run (exit code 2)."""


@dataclass(frozen=True)
class Vulnerability:
    package: str
    version: str
    id: str
    fix_versions: tuple[str, ...]
    aliases: tuple[str, ...] = ()


@dataclass
class Result:
    """What pip-audit said: vulnerabilities, packages it could not look up, or why it was skipped."""

    audited: int = 0
    vulnerabilities: list[Vulnerability] = field(default_factory=list)
    not_audited: dict[str, str] = field(default_factory=dict)
    skipped: str = ""  # non-empty: the advisory database could not be reached

    @property
    def exit_code(self) -> int:
        return 1 if self.vulnerabilities else 0


# --------------------------------------------------------------------------- what to audit


def pinned(paths: Iterable[Path]) -> dict[str, str]:
    """canonical name -> version of every line of the requirements files; every line must be ``==``."""
    pins: dict[str, str] = {}
    for path in paths:
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("-"):
                raise AuditError(f"{path.name}:{number}: options are not supported here: {line}")
            try:
                req = Requirement(line)
            except InvalidRequirement as exc:
                raise AuditError(f"{path.name}:{number}: {exc}") from exc
            specs = list(req.specifier)
            if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
                raise AuditError(f"{path.name}:{number}: {line!r} is not pinned with ==")
            pins[canonicalize_name(req.name)] = specs[0].version
    return pins


def closure(pins: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The pins plus every installed package they require, transitively (markers evaluated).

    Returns (canonical name -> version, notes). A pin whose installed version differs is
    audited at the pinned version (the one deployed), and noted.
    """
    environment = {k: str(v) for k, v in default_environment().items()}
    versions = dict(pins)
    notes: list[str] = []
    queue: list[tuple[str, tuple[str, ...]]] = [(name, ()) for name in pins]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while queue:
        name, extras = queue.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            notes.append(f"{name} is not installed here: its own dependencies are not audited")
            continue
        installed = dist.version
        if name in pins and pins[name] != installed and extras == ():
            notes.append(f"{name}: pinned {pins[name]}, installed {installed} (the pin is audited)")
        versions.setdefault(name, installed)
        for text in dist.requires or []:
            req = Requirement(text)
            wanted = [{**environment, "extra": extra} for extra in (extras or ("",))]
            if req.marker is not None and not any(req.marker.evaluate(env) for env in wanted):
                continue
            queue.append((canonicalize_name(req.name), tuple(sorted(req.extras))))
    return dict(sorted(versions.items())), notes


# --------------------------------------------------------------------------- pip-audit


def pip_audit_available() -> bool:
    return importlib.util.find_spec("pip_audit") is not None


def interpret(returncode: int, report: str | None, stderr: str) -> Result:
    """pip-audit's JSON report (None when it wrote none) and stderr, as a Result."""
    if report is None:
        reason = _reason(stderr)
        if _UNREACHABLE.search(stderr) or returncode < 0:
            return Result(skipped=reason)
        raise AuditError(f"pip-audit failed (exit {returncode}): {reason}")
    data = json.loads(report)
    result = Result()
    for dep in data.get("dependencies", []):
        name, version = str(dep.get("name", "")), str(dep.get("version", ""))
        if dep.get("skip_reason"):
            result.not_audited[name] = str(dep["skip_reason"])
            continue
        result.audited += 1
        for vuln in dep.get("vulns", []):
            result.vulnerabilities.append(
                Vulnerability(
                    name,
                    version,
                    str(vuln.get("id", "?")),
                    tuple(str(v) for v in vuln.get("fix_versions", [])),
                    tuple(str(a) for a in vuln.get("aliases", [])),
                )
            )
    if result.audited == 0 and result.not_audited:
        first = next(iter(result.not_audited.values()))
        lookups_failed = all(_NOT_FOUND in r or _UNREACHABLE.search(r) for r in result.not_audited.values())
        if lookups_failed:
            result.skipped = f"no package could be looked up, e.g. {first}"
    return result


def _reason(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    useful = [line for line in lines if _UNREACHABLE.search(line)] or lines or ["no output"]
    return useful[-1][:300]


def run_pip_audit(versions: dict[str, str], *, timeout: float, service: str) -> Result:
    with tempfile.TemporaryDirectory(prefix="audit-") as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text("".join(f"{n}=={v}\n" for n, v in versions.items()), encoding="utf-8")
        output = Path(tmp) / "report.json"
        command = [
            sys.executable,
            "-m",
            "pip_audit",
            "--requirement",
            str(requirements),
            "--no-deps",
            "--disable-pip",
            "--vulnerability-service",
            service,
            "--format",
            "json",
            "--output",
            str(output),
            "--progress-spinner",
            "off",
            "--timeout",
            str(max(1, int(min(timeout, 15)))),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return Result(skipped=f"no answer within {timeout:g} s")
        report = output.read_text(encoding="utf-8") if output.exists() and output.stat().st_size else None
        return interpret(done.returncode, report, done.stderr)


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.audit", description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--requirement", action="append", type=Path, help="pinned requirements file(s)")
    parser.add_argument("--direct-only", action="store_true", help="audit only the lines of the files")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for the whole audit (default 120)")
    parser.add_argument("--service", choices=("pypi", "osv"), default="pypi", help="advisory database (default pypi)")
    args = parser.parse_args(argv)
    files = args.requirement or [DEFAULT_REQUIREMENTS]
    try:
        if not pip_audit_available():
            raise AuditError(f"pip-audit is not installed in this environment (the dev extras pin {PIP_AUDIT_PIN})")
        pins = pinned(files)
        versions, notes = (pins, []) if args.direct_only else closure(pins)
        scope = "direct pins" if args.direct_only else "pins and what they pull in"
        print(f"audit: {len(versions)} packages ({len(pins)} pinned in {', '.join(f.name for f in files)}; {scope})")
        for note in notes:
            print(f"  note: {note}")
        result = run_pip_audit(versions, timeout=args.timeout, service=args.service)
    except AuditError as exc:
        print(f"audit: cannot run: {exc}", file=sys.stderr)
        return 2
    if result.skipped:
        print(f"audit: {SKIPPED} ({result.skipped})")
        return 0
    for name, reason in sorted(result.not_audited.items()):
        print(f"  not audited: {name}: {reason}")
    for v in result.vulnerabilities:
        fixes = ", ".join(v.fix_versions) or "no fixed version yet"
        aliases = f" ({', '.join(v.aliases)})" if v.aliases else ""
        print(f"  VULNERABLE {v.package}=={v.version}: {v.id}{aliases}; fixed in {fixes}")
    if result.vulnerabilities:
        print(f"audit: {len(result.vulnerabilities)} known vulnerabilit(y/ies) in {result.audited} audited packages")
    else:
        print(f"audit: no known vulnerabilities in {result.audited} audited packages")
    return result.exit_code


if __name__ == "__main__":
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    sys.exit(main())
