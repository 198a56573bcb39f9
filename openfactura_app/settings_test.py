"""Test settings: the production-shaped settings with the sandbox on and Celery eager.

The database comes from ``DATABASE_URL`` as usual (``./test`` points it at PostgreSQL when the
server is reachable). Tests that need a real worker start one themselves (tests/conftest.py).
"""

import os

os.environ.setdefault("SANDBOX", "1")
os.environ.setdefault("PUBLIC_BASE_URL", "http://testserver")

from .settings import *  # noqa: E402,F403

CELERY_BROKER_URL = ""
CELERY_TASK_ALWAYS_EAGER = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "sandbox.mail.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
SANDBOX_WEBHOOK_RETRY_SCALE = 0  # no background webhook retries during tests (tests trigger them)

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not :memory:: the live server's threads then get connections of their own (real
    # concurrency, as in `./run`), instead of sharing one in-memory connection.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f"test-{os.getpid()}.sqlite3")}  # noqa: F405
