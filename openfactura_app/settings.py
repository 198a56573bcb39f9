"""Settings of OpenFactura para Jumpseller, read from the environment (12-factor).

Two profiles, chosen by ``DJANGO_ENV``:

* ``local`` (default): safe defaults so that ``./run`` and ``./test`` work on a fresh machine —
  SQLite, Celery eager, a development secret key and encryption key, the built-in sandbox when
  ``SANDBOX=1``.
* ``production``: no defaults for secrets; the process refuses to start (``ImproperlyConfigured``)
  while any local default or the sandbox is still in force. See ``_check_production`` below.

Every variable is documented in README.md § "Configuration".
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="local")
if DJANGO_ENV not in {"local", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV debe ser 'local' o 'production'.")
PRODUCTION = DJANGO_ENV == "production"

# Local-only defaults. They are public (they are in this file), so production refuses them.
_LOCAL_SECRET_KEY = "local-only-insecure-secret-key-do-not-use-in-production-0123456789"  # noqa: S105
_LOCAL_FIELD_ENCRYPTION_KEY = "bG9jYWwtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleSE="  # base64 of 32 bytes

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
SECRET_KEY = env.str("SECRET_KEY", default="" if PRODUCTION else _LOCAL_SECRET_KEY)
# Earlier keys, still accepted when verifying (sessions, self-service and PDF links) after a rotation.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
# Comma-separated Fernet keys; the first encrypts, all decrypt (rotation with MultiFernet).
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEY", default=[] if PRODUCTION else [_LOCAL_FIELD_ENCRYPTION_KEY]
)

# The built-in sandbox of Jumpseller and OpenFactura (local runs and tests only).
SANDBOX = env.bool("SANDBOX", default=False)

PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="" if PRODUCTION else "http://localhost:8000").rstrip(
    "/"
)


def _loopback_http(url: str) -> bool:
    """An ``http://`` address on this machine: no merchant, browser or Jumpseller can reach it."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in {"localhost", "127.0.0.1", "::1"}


# The production smoke run (tests/production): the production profile with the built-in sandbox, only
# on a loopback address. Nothing outside this machine can reach such an install, so the sandbox there
# can answer no real merchant; anywhere else production refuses the sandbox.
SANDBOX_SMOKE = PRODUCTION and SANDBOX and _loopback_http(PUBLIC_BASE_URL)
# Cookies, HSTS and the https redirect follow the scheme of the product's public address.
HTTPS = PUBLIC_BASE_URL.startswith("https://")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]"])
if not PRODUCTION and PUBLIC_BASE_URL:
    # `runserver HOST:PORT` with PUBLIC_BASE_URL=http://HOST:PORT must just work locally.
    from urllib.parse import urlsplit

    _host = urlsplit(PUBLIC_BASE_URL).hostname
    if _host and _host not in ALLOWED_HOSTS:
        ALLOWED_HOSTS.append(_host)
    if SANDBOX:
        ALLOWED_HOSTS.append("*")  # the sandbox is reached under whatever name the tester uses
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[PUBLIC_BASE_URL] if PUBLIC_BASE_URL else [])

# --- External services ------------------------------------------------------------------------
# With SANDBOX on, the product targets its own sandbox (served by this same process) unless a URL
# is set explicitly.
_sandbox_root = f"{PUBLIC_BASE_URL}/sandbox"
JUMPSELLER_CLIENT_ID = env.str("JUMPSELLER_CLIENT_ID", default="" if PRODUCTION else "sandbox-client-id")
JUMPSELLER_CLIENT_SECRET = env.str(
    "JUMPSELLER_CLIENT_SECRET", default="" if PRODUCTION else "sandbox-client-secret"
)
JUMPSELLER_ACCOUNTS_URL = env.str(
    "JUMPSELLER_ACCOUNTS_URL",
    default=f"{_sandbox_root}/jumpseller/accounts" if SANDBOX else "https://accounts.jumpseller.com",
).rstrip("/")
JUMPSELLER_API_URL = env.str(
    "JUMPSELLER_API_URL",
    default=f"{_sandbox_root}/jumpseller/api/v1" if SANDBOX else "https://api.jumpseller.com/v1",
).rstrip("/")
# Origins allowed to frame the merchant pages: the admin of the session's own store, computed per request
# with {store} = its code (why these two: integration.decorators.admin_origins). No store: 'none'.
JUMPSELLER_ADMIN_ORIGINS = env.list(
    "JUMPSELLER_ADMIN_ORIGINS", default=["https://{store}.jumpseller.com", "https://jumpseller.com"]
)
OPENFACTURA_URL = env.str(
    "OPENFACTURA_URL", default=f"{_sandbox_root}/openfactura" if SANDBOX else "https://api.haulmer.com"
).rstrip("/")
OPENFACTURA_DEMO_URL = env.str(
    "OPENFACTURA_DEMO_URL",
    default=f"{_sandbox_root}/openfactura" if SANDBOX else "https://dev-api.haulmer.com",
).rstrip("/")

# --- Django -----------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "core",
    "integration",
    "emission",
    "merchant",
    "selfservice",
]
if SANDBOX:
    INSTALLED_APPS += ["sandbox", "sandbox.openfactura"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "integration.middleware.EmbeddedSessionMiddleware",  # Django's sessions + the iframe's session token
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.middleware.ErrorPageMiddleware",  # DEBUG: the product's error pages on merchant/customer URLs
    "integration.middleware.StoreBindingMiddleware",  # before CSRF: a stale tab gets the Spanish 409
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "openfactura_app.urls"
WSGI_APPLICATION = "openfactura_app.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.messages.context_processors.messages",
                "merchant.context_processors.merchant_chrome",  # the merchant pages' menu and alerts
            ],
            "builtins": ["core.templatetags.formatting"],
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent webhook deliveries in local runs: WAL lets readers work beside one writer, IMMEDIATE
    # transactions take the write lock up front (no "database is locked" on upgrade), and writers
    # wait for each other instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "es-cl"
LANGUAGES = [("es-cl", "Español (Chile)")]
TIME_ZONE = "America/Santiago"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = not PRODUCTION
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Request bodies: webhooks are small; 2.5 MB is Django's default and our explicit ceiling.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1_048_576)

# --- Sessions and security ----------------------------------------------------------------------
# The merchant pages live inside Jumpseller's admin iframe: in production the session cookie must
# be SameSite=None; Secure to be sent in a cross-site frame.
SESSION_COOKIE_NAME = "of_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_SECURE = PRODUCTION and HTTPS
SESSION_COOKIE_SAMESITE = "None" if SESSION_COOKIE_SECURE else "Lax"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_SAMESITE = SESSION_COOKIE_SAMESITE
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "core.errors.csrf_failure"  # the Spanish 403 in the product's layout
# Inside an iframe that gets no cookies (third-party cookies blocked) the merchant session travels in a
# short-lived token carried by the page (integration.decorators); its messages then live in the session.
# SameSite=None; Secure cookies also leave as Partitioned (CHIPS), see integration.middleware.
MESSAGE_STORAGE = "integration.middleware.EmbeddedMessageStorage"
X_FRAME_OPTIONS = "DENY"  # merchant pages relax it with CSP frame-ancestors
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# A TLS-terminating proxy in front (docker-compose.yml's `proxy`) says the original scheme in
# X-Forwarded-Proto. Only then is the header trusted: without a proxy anyone could send it and pass
# for https.
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if PRODUCTION and HTTPS:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Email --------------------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="sandbox.mail.EmailBackend" if SANDBOX else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="OpenFactura para Jumpseller <no-responder@localhost>"
)

# --- Celery -------------------------------------------------------------------------------------
# No broker configured → tasks run eagerly in-process (local runs). With a broker → real workers.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection before and after every task unless this is set;
# a worker process then reconnects to PostgreSQL for each task. Set, it closes only every this many
# tasks, and `openfactura_app.celery` checks the kept connection as Django does per request
# (CONN_MAX_AGE, CONN_HEALTH_CHECKS: a connection broken by a PostgreSQL restart is replaced).
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task that is not acknowledged within this time is redelivered (Redis visibility timeout); it must
# exceed the longest task. Publishing gives up quickly when the broker is down: the caller has
# stored its row and a sweeper dispatches it later.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 900, "max_retries": 2, "interval_start": 0.1}
CELERY_TIMEZONE = TIME_ZONE
# Where beat keeps the last run of each entry (docker-compose.yml sets it; exactly one beat runs).
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME", default="celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Housekeeping: expired merchant sessions and OAuth states are personal/secret data past its use.
    "core.clear_sessions": {"task": "core.clear_sessions", "schedule": 86400.0},
    "integration.prune_oauth_states": {"task": "integration.prune_oauth_states", "schedule": 3600.0},
}

# --- Cache (rate-limit budgets and locks shared by every web and worker process) ----------------
# Redis when configured (CACHE_URL, else the Redis broker); in-process memory for local eager runs.
_cache_url = env.str("CACHE_URL", default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url, "KEY_PREFIX": "of"}
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Jumpseller app platform (integration/) --- BEGIN ------------------------------------------
# OAuth scopes requested at install (space-separated; jumpseller-api.md §1.3).
JUMPSELLER_SCOPES = env.str(
    "JUMPSELLER_SCOPES", default="read_store read_orders write_orders read_hooks write_hooks read_customers"
)
# Webhooks the app registers on every connected store, all at {PUBLIC_BASE_URL}/jumpseller/webhooks/.
JUMPSELLER_HOOK_EVENTS = ["order_paid", "order_canceled"]
# {"order_paid": "dotted.path", ...}: called as handler(store_id=, order_id=, event_id=) by the worker.
# The environment variable (JSON) adds to / overrides these entries.
JUMPSELLER_EVENT_HANDLERS: dict[str, str] = {
    "order_paid": "emission.services.order_paid_received",
    "order_canceled": "emission.services.order_canceled_received",
    **env.json("JUMPSELLER_EVENT_HANDLERS", default={}),
}
# Access tokens last one hour; they are refreshed when fewer than this many seconds remain.
JUMPSELLER_TOKEN_REFRESH_MARGIN = env.int("JUMPSELLER_TOKEN_REFRESH_MARGIN", default=300)
# A stored webhook event still "received" after this many seconds is dispatched by the sweeper.
WEBHOOK_DISPATCH_AFTER_SECONDS = env.int("WEBHOOK_DISPATCH_AFTER_SECONDS", default=60)
# A "dispatched" event that no worker started after this many seconds lost its message (web process
# killed before publishing, Redis restarted: it keeps nothing on disk): the sweeper dispatches it again.
WEBHOOK_REDISPATCH_AFTER_SECONDS = env.int("WEBHOOK_REDISPATCH_AFTER_SECONDS", default=900)
# Each web process keeps a store's id and decrypted hooks token this long for verifying deliveries.
WEBHOOK_SIGNER_CACHE_SECONDS = env.int("WEBHOOK_SIGNER_CACHE_SECONDS", default=30)
# Raw bodies and headers of webhook events hold personal data: cleared after this many days.
WEBHOOK_RAW_RETENTION_DAYS = env.int("WEBHOOK_RAW_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE.update(
    {
        "integration.dispatch_pending_events": {
            "task": "integration.dispatch_pending_events",
            "schedule": 60.0,
        },
        "integration.ensure_hooks": {"task": "integration.ensure_hooks", "schedule": 3600.0},
        "integration.prune_webhook_events": {
            "task": "integration.prune_webhook_events",
            "schedule": 86400.0,
        },
    }
)
# --- Jumpseller app platform (integration/) --- END --------------------------------------------

# --- Self-service (selfservice/) ------------------------------------------------------------------
# The customer's page keeps the order read from Jumpseller this long (reloads cost no API call; a POST
# re-reads it; 0 turns the cache off).
SELFSERVICE_ORDER_CACHE_SECONDS = env.int("SELFSERVICE_ORDER_CACHE_SECONDS", default=60)

# --- Emission (emission/) -----------------------------------------------------------------------
# A document "sending" longer than this is taken to have lost its worker and may be claimed again
# (same Idempotency-Key, so OpenFactura answers OF-06 with the original if it had arrived).
EMISSION_SENDING_LEASE_SECONDS = env.int("EMISSION_SENDING_LEASE_SECONDS", default=120)
# After this many transient failures of one document in a row the store's queue pauses by itself
# (OpenFactura down): orders keep arriving and wait; the merchant resumes.
EMISSION_PAUSE_AFTER_FAILURES = env.int("EMISSION_PAUSE_AFTER_FAILURES", default=6)
# OpenFactura (connect, read) timeouts in seconds: Haulmer's own plugins use 30 s (openfactura-api §6).
OPENFACTURA_TIMEOUT = tuple(env.list("OPENFACTURA_TIMEOUT", cast=float, default=[5.0, 30.0]))
# Paid orders of the last N days without a document are looked for every hour.
EMISSION_RECONCILE_DAYS = env.int("EMISSION_RECONCILE_DAYS", default=3)
CELERY_BEAT_SCHEDULE.update(
    {
        "emission.sweep": {"task": "emission.sweep", "schedule": 60.0},
        "emission.reconcile_recent": {"task": "emission.reconcile_recent", "schedule": 3600.0},
        # Boleta → factura conversions whose factura is still owed after the nota (issue 8).
        "selfservice.sweep": {"task": "selfservice.sweep", "schedule": 120.0},
    }
)

# --- Background jobs (merchant/jobs.py: backfill, reconciliation with a progress bar) -----------------
# A queued or running job without a heartbeat for this long lost its worker: it is marked failed (by the
# beat entry, and whenever the store's page or a new start looks), so the store can start another.
BACKGROUND_JOB_STALE_SECONDS = env.int("BACKGROUND_JOB_STALE_SECONDS", default=900)
# Without a broker (Celery eager) the dev server of ./run runs a job in a thread, so the page shows it
# advancing; tests and management commands run it inline, as every eager task.
_eager_dev_server = CELERY_TASK_ALWAYS_EAGER and __import__("sys").argv[1:2] == ["runserver"]
BACKGROUND_JOBS_IN_THREAD = env.bool("BACKGROUND_JOBS_IN_THREAD", default=_eager_dev_server)
CELERY_BEAT_SCHEDULE["merchant.recover_stale_jobs"] = {
    "task": "merchant.recover_stale_jobs",
    "schedule": 300.0,
}

# --- Logging ------------------------------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "text")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "core.logging.ContextFilter"},
        "redact": {"()": "core.logging.RedactCapabilitiesFilter"},
    },
    "formatters": {
        "json": {"()": "core.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(store_code)s %(order_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's default handlers (its console, mail_admins, django.server) would write request paths
        # unredacted ("Not Found: /documento/<token>/"): records go to the root console, which redacts.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
    },
}


def _weak_secret_key(key: str) -> bool:
    """A key an attacker could guess or search: short, few distinct characters, or a repeated pattern.

    Django's own check (security.W009) asks for 50 characters and 5 distinct ones; a key such as
    ``"abc" * 20`` passes it. Here the key must also carry at least 128 bits by its character
    frequencies (a random 50-character key from Django's generator carries about 250) and must not
    shrink when compressed, as any repetition does.
    """
    import math
    import zlib
    from collections import Counter

    if len(key) < 50 or len(set(key)) < 10 or key.startswith("django-insecure"):
        return True
    counts = Counter(key)
    bits = -sum(n * math.log2(n / len(key)) for n in counts.values())
    return bits < 128 or len(zlib.compress(key.encode(), 9)) < len(key.encode()) * 0.75


def _invalid_fernet_keys(keys: list[str]) -> bool:
    """Build the Fernet keys now, not at the first token saved or read hours later."""
    from cryptography.fernet import Fernet

    try:
        for key in keys:
            Fernet(key)
    except (ValueError, TypeError):
        return True
    return False


def _check_production() -> None:
    """Refuse to start production on local defaults or weak secrets; every problem listed in Spanish."""
    problems = []
    if DEBUG:
        problems.append("DEBUG debe estar desactivado")
    if not SECRET_KEY or SECRET_KEY == _LOCAL_SECRET_KEY:
        problems.append("SECRET_KEY es obligatoria y no puede ser la local")
    elif _weak_secret_key(SECRET_KEY):
        problems.append(
            "SECRET_KEY es débil (al menos 50 caracteres aleatorios; genere una con "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`)"
        )
    if not FIELD_ENCRYPTION_KEYS or _LOCAL_FIELD_ENCRYPTION_KEY in FIELD_ENCRYPTION_KEYS:
        problems.append("FIELD_ENCRYPTION_KEY es obligatoria y no puede ser la local")
    elif _invalid_fernet_keys(FIELD_ENCRYPTION_KEYS):
        problems.append(
            "FIELD_ENCRYPTION_KEY no es válida: cada clave debe ser una clave Fernet (32 bytes en base64 "
            "url-safe; genere una con `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`)"
        )
    loopback_hosts = {"localhost", "127.0.0.1", "::1", "[::1]"}
    if SANDBOX and not (SANDBOX_SMOKE and ALLOWED_HOSTS and set(ALLOWED_HOSTS) <= loopback_hosts):
        # The smoke run only: nothing outside this machine may reach the sandbox, by address or by name.
        problems.append("SANDBOX no puede estar activo en producción")
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS debe listar los dominios del producto")
    if not HTTPS and not SANDBOX_SMOKE:
        problems.append("PUBLIC_BASE_URL debe ser una URL https://")
    if not SANDBOX:
        plain = [
            name
            for name in (
                "JUMPSELLER_ACCOUNTS_URL",
                "JUMPSELLER_API_URL",
                "OPENFACTURA_URL",
                "OPENFACTURA_DEMO_URL",
            )
            if not globals()[name].startswith("https://")
        ]
        if plain:
            problems.append(f"{', '.join(plain)} debe(n) ser URL https://")
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        problems.append("DATABASE_URL debe apuntar a PostgreSQL")
    if not CELERY_BROKER_URL:
        problems.append("CELERY_BROKER_URL es obligatoria (Redis)")
    if not JUMPSELLER_CLIENT_ID or not JUMPSELLER_CLIENT_SECRET:
        problems.append("JUMPSELLER_CLIENT_ID y JUMPSELLER_CLIENT_SECRET son obligatorias")
    if EMAIL_BACKEND.startswith("sandbox.") and not SANDBOX_SMOKE:
        problems.append("EMAIL_BACKEND no puede ser el del sandbox")
    if problems:
        raise ImproperlyConfigured("Configuración de producción incompleta: " + "; ".join(problems) + ".")


if PRODUCTION:
    _check_production()

# Optional error reporting (Sentry), only with a DSN; personal data and capabilities scrubbed.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from core.error_reporting import init_error_reporting

    init_error_reporting(dsn=SENTRY_DSN, environment=DJANGO_ENV)
