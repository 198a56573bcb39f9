"""docker-compose.yml matches the settings: services, commands and environment names."""

import re

import yaml

from tests.conftest import REPO_ROOT

SETTINGS_SOURCE = (REPO_ROOT / "openfactura_app" / "settings.py").read_text()


def _compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_services_and_commands():
    services = _compose()["services"]
    assert set(services) == {"web", "worker", "beat", "db", "redis"}
    assert "gunicorn openfactura_app.wsgi" in services["web"]["command"]
    assert "migrate" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A openfactura_app worker")
    assert services["beat"]["command"].startswith("celery -A openfactura_app beat")
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])


def test_environment_names_are_settings_the_app_reads():
    services = _compose()["services"]
    read_by_settings = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', SETTINGS_SOURCE))
    for name in ("web", "worker", "beat"):
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


def test_dockerfile_installs_runtime_requirements_only():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11" in dockerfile
    assert "requirements.txt" in dockerfile and "requirements-dev.txt" not in dockerfile
