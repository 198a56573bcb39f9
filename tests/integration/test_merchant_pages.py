"""The merchant pages: what the merchant sees, disconnecting, and one store never seeing another's data."""

from __future__ import annotations

import re

import pytest
import responses
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, reverse

from integration import urls as integration_urls
from integration.models import Store, StoreHook, WebhookEvent

from .conftest import API, PUBLIC, make_store, merchant_client

pytestmark = pytest.mark.django_db

URL = f"{PUBLIC}/jumpseller/webhooks/"


def csrf_token(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()).group(1)


def test_the_home_shows_the_store_and_its_connection(store):
    StoreHook.objects.create(store=store, event="order_paid", url=URL, hook_id=1)
    WebhookEvent.objects.create(
        store=store, event="order_paid", order_id=1, status="processed", dedupe_key="a"
    )
    WebhookEvent.objects.create(
        store=store, event="order_paid", order_id=1, status="duplicate", dedupe_key="a"
    )
    WebhookEvent.objects.create(
        store=store, event="order_paid", order_id=2, status="received", dedupe_key="b"
    )
    text = merchant_client(store).get("/jumpseller/app/").content.decode()
    assert "Tienda Ñuñoa" in text and "tienda-nunoa" in text
    assert "Conectada" in text and "Reconectar" not in text
    assert "Abrir en una pestaña nueva" in text
    assert "Pedido pagado" in text
    assert "Recibidas: 1 procesadas, 1 en espera,\n     1 duplicadas." in text
    assert 'href="/jumpseller/app/desconectar"' in text


def test_the_demo_mode_of_emission_is_shown_without_integration_importing_emission(store):
    client = merchant_client(store)
    # No emission settings yet: they are created with demo mode on.
    assert "Modo demostración activo" in client.get("/jumpseller/app/").content.decode()
    emission_settings = apps.get_model("emission", "EmissionSettings")
    emission_settings.objects.create(store=store, demo_mode=False)
    assert "Modo demostración activo" not in client.get("/jumpseller/app/").content.decode()


def test_a_disconnected_store_offers_reconectar_and_says_its_work_waits():
    store = make_store(
        status=Store.Status.DISCONNECTED,
        disconnected_reason="Jumpseller rechazó el acceso a la tienda (401).",
        access_token="",
        refresh_token="",
    )
    response = merchant_client(store).get("/jumpseller/app/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Desconectada" in text
    assert "Jumpseller rechazó el acceso a la tienda (401)." in text
    assert "sus documentos se emitirán al reconectar" in text
    assert '<a class="btn" href="/jumpseller/install" target="_top">Reconectar</a>' in text


def test_reconectar_starts_the_oauth_flow_again():
    store = make_store(status=Store.Status.DISCONNECTED)
    response = merchant_client(store).get("/jumpseller/install")
    assert response.status_code == 302
    assert response["Location"].startswith("https://accounts.jumpseller.test/oauth/authorize?")


@responses.activate
def test_disconnecting_asks_first_then_deletes_hooks_and_secrets_and_ends_the_session(store):
    StoreHook.objects.create(store=store, event="order_paid", url=URL, hook_id=11)
    deleted = responses.delete(f"{API}/hooks/11.json", json="Hook deleted.")
    client = merchant_client(store)
    confirm = client.get("/jumpseller/app/desconectar")
    assert confirm.status_code == 200
    assert "¿Desconectar la aplicación?" in confirm.content.decode()
    assert "Los documentos ya emitidos se conservan." in confirm.content.decode()
    assert deleted.call_count == 0

    # The POST needs the CSRF token (the client enforces it).
    assert client.post("/jumpseller/app/desconectar").status_code == 403
    store.refresh_from_db()
    assert store.status == Store.Status.CONNECTED

    done = client.post(
        "/jumpseller/app/desconectar",
        {"csrfmiddlewaretoken": csrf_token(confirm), "confirmacion": store.code},
    )
    assert done.status_code == 200
    assert "Aplicación desconectada" in done.content.decode()
    assert "Volver a conectar" in done.content.decode()
    assert deleted.call_count == 1
    store.refresh_from_db()
    assert store.status == Store.Status.UNINSTALLED
    assert (store.access_token, store.refresh_token, store.hooks_token) == ("", "", "")
    assert "store_id" not in client.session
    assert client.get("/jumpseller/app/")["Location"] == "/jumpseller/"


def test_a_session_of_an_uninstalled_store_is_ended():
    store = make_store(status=Store.Status.UNINSTALLED)
    client = merchant_client(store)
    assert client.get("/jumpseller/app/")["Location"] == "/jumpseller/"
    assert "store_id" not in client.session


def test_the_events_pages_list_the_stores_deliveries(store):
    event = WebhookEvent.objects.create(
        store=store,
        event="order_paid",
        order_id=10045,
        status="failed",
        error="RuntimeError: x",
        dedupe_key="k",
    )
    client = merchant_client(store)
    listing = client.get("/jumpseller/app/notificaciones/").content.decode()
    assert "Pedido pagado" in listing and "10045" in listing and "Fallida" in listing
    detail = client.get(f"/jumpseller/app/notificaciones/{event.pk}/")
    assert detail.status_code == 200
    assert "RuntimeError: x" in detail.content.decode()
    assert "camila" not in detail.content.decode().lower()  # the raw body is not shown


# --- One store never sees another's data ---------------------------------------------------------

# Every merchant URL of integration that names an object, with a factory of that object for a store.
OBJECT_URLS = {
    "merchant_event": lambda store: {
        "pk": WebhookEvent.objects.create(store=store, event="order_paid", order_id=777, dedupe_key="x").pk
    },
}


def test_every_object_url_of_integration_is_covered_by_the_isolation_test():
    with_kwargs = {
        pattern.name
        for pattern in integration_urls.urlpatterns
        if isinstance(pattern, URLPattern) and pattern.pattern.converters
    }
    assert with_kwargs == set(OBJECT_URLS)


@pytest.mark.parametrize("name", sorted(OBJECT_URLS))
def test_a_merchant_of_store_a_gets_404_on_every_object_of_store_b(name):
    store_a = make_store("tienda-a")
    store_b = make_store("tienda-b")
    kwargs_b = OBJECT_URLS[name](store_b)
    kwargs_a = OBJECT_URLS[name](store_a)
    client_a = merchant_client(store_a)
    assert client_a.get(reverse(f"integration:{name}", kwargs=kwargs_a)).status_code == 200
    assert client_a.get(reverse(f"integration:{name}", kwargs=kwargs_b)).status_code == 404
    assert merchant_client(store_b).get(reverse(f"integration:{name}", kwargs=kwargs_b)).status_code == 200


def test_lists_and_home_of_store_a_show_nothing_of_store_b():
    store_a = make_store("tienda-a", name="Tienda A")
    store_b = make_store("tienda-b", name="Tienda B")
    WebhookEvent.objects.create(store=store_b, event="order_paid", order_id=424242, dedupe_key="b")
    StoreHook.objects.create(store=store_b, event="order_canceled", url=URL, hook_id=9)
    client_a = merchant_client(store_a)
    for path in ("/jumpseller/app/", "/jumpseller/app/notificaciones/"):
        text = client_a.get(path).content.decode()
        assert "424242" not in text and "Tienda B" not in text and "tienda-b" not in text
        assert "Pedido anulado" not in text


def test_anonymous_visitors_get_no_object():
    store = make_store()
    event = WebhookEvent.objects.create(store=store, event="order_paid", order_id=1, dedupe_key="k")
    response = Client().get(f"/jumpseller/app/notificaciones/{event.pk}/")
    assert response.status_code == 302 and response["Location"] == "/jumpseller/"
