"""Gunicorn settings of the web process, as the Dockerfile and docker-compose.yml run it.

Read from the environment so that one command serves every deployment: ``GUNICORN_BIND`` (default
``0.0.0.0:8000``), ``GUNICORN_WORKERS`` (3), ``GUNICORN_TIMEOUT`` (30 s). The access log goes to stdout
through a logger that redacts bearer capabilities (self-service and PDF link tokens, the OAuth
callback's ``code`` and ``state``) from every field it writes.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = "-"
errorlog = "-"
logger_class = "core.gunicorn_logging.RedactingLogger"
