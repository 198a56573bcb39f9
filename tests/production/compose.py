"""docker-compose.yml read as Compose reads it: service commands, the app environment and health checks.

The production smoke test starts web, worker and beat from these very strings, so the compose file and
what CI proves cannot drift apart. Only what Compose itself does is done here: ``${VAR:?msg}``,
``${VAR:-default}`` and ``${VAR}`` interpolation, and ``$$`` as a literal ``$``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

import yaml

from tests.conftest import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
APP_SERVICES = ("web", "worker", "beat")  # long-running; "migrate" runs once before them

_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:(?P<op>:\?|:-)(?P<arg>[^}]*))?\}")


class MissingVariable(LookupError):
    """A ``${VAR:?message}`` whose variable the caller did not give (Compose refuses to start)."""


def interpolate(text: str, variables: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        value = variables.get(name, "")
        if op == ":?" and not value:
            raise MissingVariable(f"{name}: {arg}")
        if op == ":-" and not value:
            return arg
        return value

    return _VARIABLE.sub(replace, text)


def services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


@dataclass(frozen=True)
class AppService:
    name: str
    argv: list[str]
    environment: dict[str, str]
    healthcheck: list[str]


def _healthcheck_argv(test: list[str], variables: dict[str, str]) -> list[str]:
    kind, *rest = test
    if kind == "CMD-SHELL":
        return ["sh", "-c", interpolate(rest[0], variables)]
    assert kind == "CMD", f"unknown health check form {kind}"
    return [interpolate(part, variables) for part in rest]


def app_service(name: str, variables: dict[str, str]) -> AppService:
    """One of web/worker/beat with its command as an argv, its environment and its health check argv."""
    service = services()[name]
    command = service["command"]
    argv = [
        interpolate(part, variables)
        for part in (command if isinstance(command, list) else shlex.split(command))
    ]
    environment = {key: interpolate(str(value), variables) for key, value in service["environment"].items()}
    return AppService(
        name=name,
        argv=argv,
        environment=environment,
        healthcheck=_healthcheck_argv(service["healthcheck"]["test"], variables)
        if "healthcheck" in service
        else [],
    )
