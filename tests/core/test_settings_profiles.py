"""The production profile refuses local defaults and passes ``check --deploy`` with real values."""

import os
import subprocess
import sys

from cryptography.fernet import Fernet

from tests.conftest import REPO_ROOT

REAL_VALUES = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "p" * 20 + "-a-real-production-secret-key-of-enough-length-0123456789",
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "factura.example.cl",
    "PUBLIC_BASE_URL": "https://factura.example.cl",
    "DATABASE_URL": "postgres://app:pw@db:5432/openfactura",
    "CELERY_BROKER_URL": "redis://redis:6379/0",
    "JUMPSELLER_CLIENT_ID": "client-id",
    "JUMPSELLER_CLIENT_SECRET": "client-secret",
}


def _manage(*args: str, env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env.update(env_overrides)
    env["DJANGO_SETTINGS_MODULE"] = "openfactura_app.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_passes_with_real_values():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=REAL_VALUES)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_local_defaults():
    result = _manage("check", env_overrides={"DJANGO_ENV": "production"})
    assert result.returncode != 0
    for problem in (
        "SECRET_KEY es obligatoria",
        "FIELD_ENCRYPTION_KEY es obligatoria",
        "ALLOWED_HOSTS",
        "PUBLIC_BASE_URL",
        "DATABASE_URL debe apuntar a PostgreSQL",
        "CELERY_BROKER_URL",
    ):
        assert problem in result.stderr


def test_production_refuses_the_sandbox_and_debug():
    result = _manage("check", env_overrides={**REAL_VALUES, "SANDBOX": "1", "DEBUG": "1"})
    assert result.returncode != 0
    assert "SANDBOX no puede estar activo en producción" in result.stderr
    assert "DEBUG debe estar desactivado" in result.stderr


def test_production_refuses_the_local_encryption_key():
    from openfactura_app.settings import _LOCAL_FIELD_ENCRYPTION_KEY

    result = _manage(
        "check", env_overrides={**REAL_VALUES, "FIELD_ENCRYPTION_KEY": _LOCAL_FIELD_ENCRYPTION_KEY}
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY es obligatoria y no puede ser la local" in result.stderr


def test_local_profile_has_safe_defaults():
    from django.conf import settings

    assert settings.TIME_ZONE == "America/Santiago"
    assert settings.LANGUAGE_CODE == "es-cl"
    assert settings.CELERY_TASK_ALWAYS_EAGER is True
