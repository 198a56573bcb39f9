"""The web container's health check: ``python -m core.healthcheck`` asks gunicorn for ``/healthz``.

It runs inside the container (docker-compose.yml) without loading Django: the address comes from
``GUNICORN_BIND`` (as gunicorn.conf.py reads it) and the Host header from the first of
``ALLOWED_HOSTS``, since Django answers 400 to any other host. Exit 0 only on a 200.
"""

from __future__ import annotations

import http.client
import os
import sys


def check(*, timeout: float = 3.0) -> bool:
    bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").split(",")[0]
    port = int(bind.rsplit(":", 1)[1])
    host = (os.environ.get("ALLOWED_HOSTS", "").split(",")[0].strip()) or "localhost"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/healthz", headers={"Host": host})
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(0 if check() else 1)
