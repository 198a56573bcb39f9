"""End to end against the built-in sandbox over real sockets: install through the authorize form,
hooks registered in the fake Jumpseller, a paid order's signed webhooks reaching the receiver, the event
processed by the configured handler; then a reset hooks token, a revoked app and a reconnection."""

from __future__ import annotations

import logging
import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from integration import services
from integration.models import Store, StoreHook, WebhookEvent
from sandbox.models import OAuthToken
from tests.conftest import wait_until
from tests.flows import authorize

from .handlers import trace_name

pytestmark = pytest.mark.django_db(transaction=True)


def create_order(http, sandbox, code: str) -> int:
    response = http.post(
        sandbox(f"/sandbox/jumpseller/stores/{code}/orders"),
        json={
            "order": {
                "currency": "CLP",
                "total": 11900,
                "customer": {"email": "ana@example.cl"},
                "products": [],
            }
        },
        timeout=10,
    )
    assert response.status_code == 201
    return response.json()["order"]["id"]


def test_install_then_a_paid_order_is_received_verified_and_processed(sandbox, settings, http, caplog):
    caplog.set_level(logging.DEBUG)
    settings.JUMPSELLER_EVENT_HANDLERS = {"order_paid": "tests.integration.handlers.record"}
    created = http.post(
        sandbox("/sandbox/jumpseller/stores"), json={"code": "e2e", "name": "Tienda E2E"}, timeout=10
    )
    assert created.status_code == 201
    hooks_token = created.json()["store"]["hooks_token"]

    # Install: App URL → authorize form → "Autorizar" → callback → merchant home, logged in.
    home = authorize(http, sandbox, store_code="e2e")
    assert home.status_code == 200 and home.url == sandbox("/app/primeros-pasos/")
    assert "Tu tienda «Tienda E2E» quedó conectada." in home.text and "Primeros pasos" in home.text
    assert home.headers["Content-Security-Policy"].startswith("frame-ancestors 'self'")

    store = Store.objects.get(code="e2e")
    issued = OAuthToken.objects.get(store__code="e2e")
    assert store.status == Store.Status.CONNECTED
    assert store.access_token == issued.access_token and store.refresh_token == issued.refresh_token
    assert store.hooks_token == hooks_token
    assert (store.currency, store.country, store.timezone) == ("CLP", "CL", "America/Santiago")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token, hooks_token FROM integration_store WHERE id = %s", [store.pk]
        )
        raw = cursor.fetchone()
    assert not {issued.access_token, issued.refresh_token, hooks_token} & set(raw)

    # Hooks registered in the fake Jumpseller, pointing at the receiver, ids kept.
    remote = http.get(sandbox("/sandbox/jumpseller/stores/e2e/hooks"), timeout=10).json()
    assert sorted((h["hook"]["event"], h["hook"]["url"]) for h in remote) == [
        ("order_canceled", sandbox("/jumpseller/webhooks/")),
        ("order_paid", sandbox("/jumpseller/webhooks/")),
    ]
    assert sorted(StoreHook.objects.filter(store=store).values_list("hook_id", flat=True)) == sorted(
        h["hook"]["id"] for h in remote
    )

    # A paid order: three concurrent signed deliveries (Jumpseller retries); one unit of work.
    order_id = create_order(http, sandbox, "e2e")
    paid = http.post(
        sandbox(f"/sandbox/jumpseller/stores/e2e/orders/{order_id}/pay?deliveries=3"), timeout=60
    )
    assert paid.status_code == 200
    assert [d["status"] for d in paid.json()["deliveries"]] == [200, 200, 200]
    events = list(WebhookEvent.objects.filter(store=store).order_by("pk"))
    assert len(events) == 3
    assert {e.order_id for e in events} == {order_id}
    work = [e for e in events if e.status != WebhookEvent.Status.DUPLICATE]
    assert len(work) == 1
    wait_until(
        lambda: WebhookEvent.objects.get(pk=work[0].pk).status == WebhookEvent.Status.PROCESSED, timeout=10
    )
    assert Group.objects.filter(
        name=trace_name(store_id=store.pk, order_id=order_id, event_id=work[0].pk)
    ).exists()
    assert Group.objects.filter(name__startswith="handled:").count() == 1

    # The merchant resets the hooks token in Jumpseller: the receiver re-reads it once and accepts.
    http.post(sandbox("/sandbox/jumpseller/stores/e2e/reset_hooks_token"), timeout=10)
    second = create_order(http, sandbox, "e2e")
    paid = http.post(sandbox(f"/sandbox/jumpseller/stores/e2e/orders/{second}/pay"), timeout=60)
    assert [d["status"] for d in paid.json()["deliveries"]] == [200]
    store.refresh_from_db()
    assert store.hooks_token != hooks_token
    assert WebhookEvent.objects.filter(store=store, order_id=second).count() == 1

    # None of the secrets reached the logs (the product's, the sandbox's or the HTTP libraries').
    issued = OAuthToken.objects.filter(store__code="e2e")
    secrets = {hooks_token, store.hooks_token, settings.JUMPSELLER_CLIENT_SECRET}
    secrets |= {t.access_token for t in issued} | {t.refresh_token for t in issued}
    logged = caplog.text + "".join(repr(record.args) for record in caplog.records)
    assert not [secret for secret in secrets if secret in logged]


def test_a_revoked_app_disconnects_the_store_and_reconnecting_restores_it(sandbox, http):
    http.post(
        sandbox("/sandbox/jumpseller/stores"), json={"code": "revocada", "name": "Revocada"}, timeout=10
    )
    assert authorize(http, sandbox, store_code="revocada").url == sandbox("/app/primeros-pasos/")
    store = Store.objects.get(code="revocada")
    order_id = create_order(http, sandbox, "revocada")

    http.post(sandbox("/sandbox/jumpseller/stores/revocada/revoke"), timeout=10)
    with pytest.raises(services.StoreDisconnected):
        services.jumpseller_client_for(store.pk).get_order(order_id)
    store.refresh_from_db()
    assert store.status == Store.Status.DISCONNECTED

    page = http.get(sandbox("/jumpseller/app/"), timeout=10)
    assert "Reconectar" in page.text and "Desconectada" in page.text
    # Deliveries keep arriving and are kept: the work waits for the reconnection.
    paid = http.post(sandbox(f"/sandbox/jumpseller/stores/revocada/orders/{order_id}/pay"), timeout=60)
    assert [d["status"] for d in paid.json()["deliveries"]] == [200]
    assert WebhookEvent.objects.filter(store=store, order_id=order_id).count() == 1

    # "Reconectar" runs OAuth again: the same store row, connected, with working tokens.
    reconnect = re.search(r'href="([^"]+)"[^>]*>Reconectar<', page.text).group(1)
    again = authorize(http, sandbox, store_code="revocada", start=reconnect)
    assert again.url == sandbox("/app/primeros-pasos/")
    assert Store.objects.filter(code="revocada").count() == 1
    store.refresh_from_db()
    assert store.status == Store.Status.CONNECTED
    assert services.jumpseller_client_for(store.pk).get_order(order_id)["id"] == order_id


def test_denying_the_authorization_explains_it_and_stores_nothing(sandbox, http):
    http.post(sandbox("/sandbox/jumpseller/stores"), json={"code": "niega", "name": "Niega"}, timeout=10)
    page = authorize(http, sandbox, store_code="niega", decision="deny")
    assert page.status_code == 403
    assert re.search(r"Rechazaste el acceso de OpenFactura a tu tienda Jumpseller", page.text)
    assert Store.objects.count() == 0
    assert http.get(sandbox("/sandbox/jumpseller/stores/niega/hooks"), timeout=10).json() == []


def test_disconnecting_from_the_app_removes_the_hooks_in_jumpseller(sandbox, http):
    http.post(sandbox("/sandbox/jumpseller/stores"), json={"code": "adios", "name": "Adiós"}, timeout=10)
    authorize(http, sandbox, store_code="adios")
    assert len(http.get(sandbox("/sandbox/jumpseller/stores/adios/hooks"), timeout=10).json()) == 2
    confirm = http.get(sandbox("/jumpseller/app/desconectar"), timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', confirm.text).group(1)
    done = http.post(
        sandbox("/jumpseller/app/desconectar"),
        data={"csrfmiddlewaretoken": token, "store": "adios", "confirmacion": "adios"},
        headers={"Referer": sandbox("/jumpseller/app/desconectar"), "Origin": sandbox("")},
        timeout=30,
    )
    assert done.status_code == 200 and "Aplicación desconectada" in done.text
    assert http.get(sandbox("/sandbox/jumpseller/stores/adios/hooks"), timeout=10).json() == []
    store = Store.objects.get(code="adios")
    assert store.status == Store.Status.UNINSTALLED and store.hooks_token == ""
