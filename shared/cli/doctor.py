"""``aks-compliance doctor``: is the deployment complete, and is it working?

Run after ``azd up`` with the user's own sign-in (``az login``; ``DefaultAzureCredential``). It
reads the azd environment's outputs (``.azure/<env>/.env``, or the process environment where
azd runs a hook), then ARM (``shared.adapters.deployment``), and reports, for the deployment and
for every monitored and hub subscription, what is there and what is missing, each missing piece
with the command that fixes it. Exit 0 when nothing is broken, 1 when something is, 2 for bad
usage (no azd environment).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shared.adapters import deployment
from shared.adapters.deployment import EVENT_SUBSCRIPTION_NAMES, TABLES, Report

__all__ = ["EVENT_SUBSCRIPTION_NAMES", "TABLES", "add_parser", "parse_dotenv", "render", "run"]

EXIT_OK, EXIT_BROKEN, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


# --- the azd environment -------------------------------------------------------------------


def parse_dotenv(text: str) -> dict[str, str]:
    """``KEY="value"`` lines as azd writes ``.azure/<env>/.env`` (JSON values with escaped quotes)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, raw = line.split("=", 1)
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
            body = raw[1:-1]
            if raw[0] == '"':
                out, i = [], 0
                while i < len(body):
                    if body[i] == "\\" and i + 1 < len(body):
                        out.append({"n": "\n", "t": "\t"}.get(body[i + 1], body[i + 1]))
                        i += 2
                    else:
                        out.append(body[i])
                        i += 1
                body = "".join(out)
            raw = body
        values[key.strip()] = raw
    return values


def azd_values(env_file: str | None, environment: str | None, cwd: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The deployment's outputs: ``--env-file``, else the process environment (azd hooks), else ``.azure/``."""
    if env_file:
        path = Path(env_file)
    elif environ.get("AZURE_RESOURCE_GROUP") and environ.get("AZURE_EVENTGRID_TOPICS") and not environment:
        return dict(environ)
    else:
        name = environment or environ.get("AZURE_ENV_NAME")
        if not name:
            config = cwd / ".azure" / "config.json"
            try:
                name = json.loads(config.read_text(encoding="utf-8")).get("defaultEnvironment")
            except (OSError, ValueError):
                name = None
        if not name:
            raise UsageError(
                "no azd environment found: run it where you ran azd up, or pass --environment NAME or --env-file FILE"
            )
        path = cwd / ".azure" / name / ".env"
    try:
        values = parse_dotenv(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return values


def render(report: Report) -> str:
    lines = [f"aks-compliance doctor: {report.deployment}", ""]
    for section in report.sections:
        lines.append(section.title)
        for check in section.checks:
            lines.append(f"  {'ok    ' if check.ok else 'BROKEN'}  {check.what}")
            if check.fix:
                lines.append(f"          fix: {check.fix}")
        lines.append("")
    problems = len(report.problems)
    lines.append(
        "healthy: nothing is missing" if not problems else f"broken: {problems} problem(s), each with its fix above"
    )
    return "\n".join(lines)


# --- the command -------------------------------------------------------------------------------


def add_parser(sub: Any) -> None:
    doctor = sub.add_parser(
        "doctor",
        help="check a deployment after azd up: roles, event topics and subscriptions, storage, logs, last runs",
        description="Reads ARM with your sign-in (az login) and reports, per monitored and hub subscription, "
        "what is missing, each with the command that fixes it. Exit 0 healthy, 1 broken, 2 bad usage.",
    )
    doctor.add_argument("--environment", "-e", metavar="NAME", help="the azd environment (default: azd's default)")
    doctor.add_argument("--env-file", metavar="FILE", help="the azd environment's .env file (.azure/<env>/.env)")


def run(args: argparse.Namespace, credential: Any = None, **client_kwargs: Any) -> int:
    try:
        values = azd_values(args.env_file, args.environment, Path.cwd(), os.environ)
        if credential is None:
            credential = deployment.default_credential(values, os.environ)
        endpoint = values.get("ARM_ENDPOINT") or os.environ.get("ARM_ENDPOINT") or "https://management.azure.com"
        doctor = deployment.Doctor(values, credential, now=args.clock(), endpoint=endpoint, **client_kwargs)
    except (UsageError, deployment.DeploymentUnknown) as exc:
        print(f"aks-compliance: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = doctor.run()
    except Exception as exc:  # signed out, no network: the credential's or transport's own message
        if deployment.unreachable(exc):
            print(f"aks-compliance: error: cannot reach ARM: {str(exc).splitlines()[0]} (az login?)", file=sys.stderr)
            return EXIT_BROKEN
        raise
    finally:
        doctor.close()
    print(render(report))
    return EXIT_OK if report.healthy else EXIT_BROKEN
