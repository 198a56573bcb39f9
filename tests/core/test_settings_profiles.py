"""The production profile refuses local defaults and weak secrets; real values pass ``check --deploy``."""

import os
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from tests.conftest import REPO_ROOT

REAL_VALUES = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(50),
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


@pytest.mark.parametrize(
    "key",
    [
        "abc" * 20,  # passes Django's own W009 (50 characters, 5 distinct)
        "abcdefghijklmnopqrstuvwxyz" * 2,
        "django-insecure-" + secrets.token_urlsafe(50),
        "Contraseña2026" * 4,
        secrets.token_urlsafe(30),  # random but too short
    ],
)
def test_production_refuses_a_weak_secret_key(key):
    result = _manage("check", env_overrides={**REAL_VALUES, "SECRET_KEY": key})
    assert result.returncode != 0
    assert "SECRET_KEY es débil" in result.stderr


@pytest.mark.parametrize(
    "keys",
    ["not-a-fernet-key", Fernet.generate_key().decode() + ",c2hvcnQ=", Fernet.generate_key().decode()[:-2]],
)
def test_production_refuses_an_invalid_encryption_key_at_start(keys):
    result = _manage("check", env_overrides={**REAL_VALUES, "FIELD_ENCRYPTION_KEY": keys})
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY no es válida" in result.stderr


def test_production_accepts_rotated_encryption_keys():
    keys = f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}"
    result = _manage("check", env_overrides={**REAL_VALUES, "FIELD_ENCRYPTION_KEY": keys})
    assert result.returncode == 0, result.stderr


def test_production_refuses_plain_http_service_urls():
    result = _manage(
        "check",
        env_overrides={
            **REAL_VALUES,
            "JUMPSELLER_API_URL": "http://api.jumpseller.com/v1",
            "OPENFACTURA_URL": "http://api.haulmer.com",
        },
    )
    assert result.returncode != 0
    assert "JUMPSELLER_API_URL, OPENFACTURA_URL debe(n) ser URL https://" in result.stderr


def test_sandbox_in_production_only_on_a_loopback_address():
    """The smoke run (tests/production): the production profile with the sandbox, unreachable from outside."""
    smoke = {
        **REAL_VALUES,
        "SANDBOX": "1",
        "PUBLIC_BASE_URL": "http://127.0.0.1:8123",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    assert _manage("check", env_overrides=smoke).returncode == 0
    for public in ("http://factura.example.cl", "https://factura.example.cl", "http://10.0.0.5:8000"):
        result = _manage("check", env_overrides={**smoke, "PUBLIC_BASE_URL": public})
        assert result.returncode != 0
        assert "SANDBOX no puede estar activo en producción" in result.stderr
    # A loopback PUBLIC_BASE_URL behind a proxy that serves a real name would still expose the sandbox.
    result = _manage("check", env_overrides={**smoke, "ALLOWED_HOSTS": "127.0.0.1,factura.example.cl"})
    assert result.returncode != 0
    assert "SANDBOX no puede estar activo en producción" in result.stderr


_IS_SECURE = (
    "import django; django.setup(); from django.test import RequestFactory; "
    "request = RequestFactory().get('/', HTTP_X_FORWARDED_PROTO='https', HTTP_HOST='factura.example.cl'); "
    "print(request.is_secure())"
)


@pytest.mark.parametrize(("behind_proxy", "trusted"), [("true", "True"), ("false", "False")])
def test_x_forwarded_proto_is_trusted_only_behind_a_proxy(behind_proxy, trusted):
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env.update(
        {**REAL_VALUES, "BEHIND_PROXY": behind_proxy, "DJANGO_SETTINGS_MODULE": "openfactura_app.settings"}
    )
    result = subprocess.run(
        [sys.executable, "-c", _IS_SECURE], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == trusted


def test_signed_links_survive_a_secret_key_rotation_with_fallbacks(settings):
    """Customers' emails carry signed links: after a rotation the old key verifies them as a fallback."""
    from django.core import signing

    from emission.services import SELFSERVICE_SALT
    from selfservice.services import LinkInvalid, link_parse

    old_key, new_key = secrets.token_urlsafe(50), secrets.token_urlsafe(50)
    settings.SECRET_KEY = old_key
    link = signing.dumps({"s": 7, "o": 1001}, salt=SELFSERVICE_SALT, compress=True)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = new_key, [old_key]
    assert link_parse(link) == (7, 1001)
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(LinkInvalid):
        link_parse(link)
