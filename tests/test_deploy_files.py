"""docker-compose.yml, the Dockerfile and the dependency locks agree with the settings and each other."""

import json
import re
import shlex

from tests.conftest import REPO_ROOT
from tests.production.compose import services as _services

SETTINGS_SOURCE = (REPO_ROOT / "openfactura_app" / "settings.py").read_text()
GUNICORN_SOURCE = (REPO_ROOT / "gunicorn.conf.py").read_text()


def _compose() -> dict:
    return {"services": _services()}


def _dockerfile_cmd() -> list[str]:
    line = next(
        line for line in (REPO_ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")
    )
    return json.loads(line.removeprefix("CMD "))


def test_services_and_commands():
    services = _compose()["services"]
    assert set(services) == {"proxy", "migrate", "web", "worker", "beat", "db", "redis"}
    # The web service runs gunicorn exactly as the image's CMD does; migrations run once, before it.
    assert shlex.split(services["web"]["command"]) == _dockerfile_cmd()
    assert _dockerfile_cmd() == ["gunicorn", "openfactura_app.wsgi", "--config", "gunicorn.conf.py"]
    assert services["migrate"]["command"] == "python manage.py migrate --noinput"
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["worker"]["command"].startswith("celery -A openfactura_app worker")
    assert services["beat"]["command"].startswith("celery -A openfactura_app beat")
    for name, service in services.items():
        assert name == "migrate" or "healthcheck" in service, f"{name} has no health check"
    assert services["web"]["healthcheck"]["test"] == ["CMD", "python", "-m", "core.healthcheck"]


def test_environment_names_are_settings_the_app_reads():
    services = _compose()["services"]
    read_by_settings = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', SETTINGS_SOURCE)) | set(
        re.findall(r'os\.environ\.get\("([A-Z_]+)"', GUNICORN_SOURCE)
    )
    for name in ("migrate", "web", "worker", "beat"):
        environment = services[name]["environment"]
        assert environment["DJANGO_ENV"] == "production"
        unknown = set(environment) - read_by_settings
        assert not unknown, f"{name} sets variables the settings do not read: {unknown}"
        for required in (
            "SECRET_KEY",
            "FIELD_ENCRYPTION_KEY",
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "PUBLIC_BASE_URL",
            "ALLOWED_HOSTS",
            "JUMPSELLER_CLIENT_ID",
            "JUMPSELLER_CLIENT_SECRET",
        ):
            assert required in environment
    assert "SANDBOX" not in services["web"]["environment"]


def test_web_is_reached_only_through_the_tls_proxy():
    services = _compose()["services"]
    assert "ports" not in services["web"]
    assert services["web"]["environment"]["BEHIND_PROXY"] == "true"
    assert services["web"]["environment"]["PUBLIC_BASE_URL"].startswith("https://")
    assert services["proxy"]["ports"] == ["80:80", "443:443"]
    assert services["proxy"]["command"].endswith("--to web:8000")


def test_dockerfile_installs_runtime_lock_only():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11" in dockerfile
    assert "pip install --no-cache-dir --require-hashes -r requirements.txt" in dockerfile
    assert "requirements-dev" not in dockerfile


def _pins(lock: str) -> dict[str, str]:
    text = (REPO_ROOT / lock).read_text()
    pins = dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+) \\$", text, flags=re.MULTILINE))
    # Every pinned package carries its hashes (pip then installs in hash-checking mode).
    assert len(
        re.findall(r"^[a-z0-9][a-z0-9._-]*==\S+ \\\n    --hash=sha256:", text, flags=re.MULTILINE)
    ) == len(pins)
    return pins


def _inputs(name: str) -> set[str]:
    lines = (REPO_ROOT / name).read_text().splitlines()
    return {
        re.split(r"[\[<>=~!]", line, maxsplit=1)[0].strip().lower()
        for line in lines
        if line.strip() and not line.startswith(("#", "-"))
    }


def test_locks_pin_every_input_with_hashes_and_agree():
    runtime, dev = _pins("requirements.txt"), _pins("requirements-dev.txt")
    assert _inputs("requirements.in") <= set(runtime)
    assert _inputs("requirements-dev.in") <= set(dev)
    # Kombu's Redis transport imports `packaging`: the runtime lock must carry it (issue 13).
    assert "packaging" in runtime and "redis" in runtime and "kombu" in runtime
    # The dev lock is the runtime lock plus tools: same versions, never others.
    assert {name: dev[name] for name in runtime} == runtime
    assert not {"pytest", "ruff", "playwright", "pip-tools"} & set(runtime)
