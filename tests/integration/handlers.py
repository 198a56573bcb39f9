"""Event handlers for tests, imported by dotted path (also by the real worker process, cwd = repo root).

``record`` leaves a trace anyone can read from the database: an auth ``Group`` named after the call.
"""

from __future__ import annotations

from django.contrib.auth.models import Group

from integration.services import StoreDisconnected


def trace_name(*, store_id: int, order_id: int | None, event_id: int) -> str:
    return f"handled:{store_id}:{order_id}:{event_id}"


def record(*, store_id: int, order_id: int | None, event_id: int) -> None:
    Group.objects.create(name=trace_name(store_id=store_id, order_id=order_id, event_id=event_id))


def fail(*, store_id: int, order_id: int | None, event_id: int) -> None:
    raise RuntimeError("the emission failed for now")


def disconnected(*, store_id: int, order_id: int | None, event_id: int) -> None:
    raise StoreDisconnected(store_id, "Jumpseller rechazó el acceso a la tienda (401).")
