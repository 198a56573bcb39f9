"""Issue 14, points 8 and 9: the customer's link costs the store little and answers nothing it should not.

* Reloading the page reads the order from Jumpseller once per ``SELFSERVICE_ORDER_CACHE_SECONDS``; a POST
  reads it afresh. Past the page's budgets (per link, per IP) the answer is a Spanish 429 with
  ``Retry-After`` and nothing is read.
* The taxpayer lookup goes through the page's checks: an expired link, a store that was disconnected or
  whose access was refused, an order without a form get the page's answer, and OpenFactura is not asked.
* Desconectar deletes the store's OpenFactura API key (and pauses a real store's queue).

Jumpseller and OpenFactura are faked with ``responses``: any call not registered fails the test.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import responses
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from core import ratelimit
from emission import services as emission_services
from emission.models import Document, EmissionMode, EmissionSettings
from emission.services.configuration import API_KEY_FORGOTTEN
from integration import services as integration_services
from integration.models import Store
from selfservice import views
from tests.integration.conftest import API, FIXTURES, make_store

pytestmark = pytest.mark.django_db

OF_PROD = "https://api.openfactura.test"
OF_DEMO = "https://dev-api.openfactura.test"
ORDER_ID = 5001
TAXPAYER = {
    "rut": "76430498-5",
    "razonSocial": "HOSTY SPA",
    "direccion": "ARTURO PRAT 527 3 pis OF 1",
    "comuna": "Curicó",
    "email": "compras@hosty.cl",
    "actividades": [{"giro": "EMPRESAS DE SERVICIOS INTEGRALES DE INF", "actividadPrincipal": True}],
}


@pytest.fixture(autouse=True)
def _isolated(settings):
    settings.JUMPSELLER_API_URL = API
    settings.OPENFACTURA_URL = OF_PROD
    settings.OPENFACTURA_DEMO_URL = OF_DEMO
    settings.PUBLIC_BASE_URL = "https://app.openfactura.test"
    settings.ALLOWED_HOSTS = ["testserver", "app.openfactura.test"]
    cache.clear()
    ratelimit._memory.logs.clear()
    yield
    cache.clear()
    ratelimit._memory.logs.clear()


@pytest.fixture
def store() -> Store:
    return make_store()


def order_json(order_id: int = ORDER_ID, *, days_ago: int = 0, status: str = "paid") -> dict:
    order = copy.deepcopy(json.loads((FIXTURES / "order_paid__boleta_afecta.json").read_text())["order"])
    when = (timezone.now() - timedelta(days=days_ago)).strftime("%Y-%m-%d %H:%M:%S UTC")
    order.update(id=order_id, created_at=when, completed_at=when, status_enum=status)
    return {"order": order}


def page_path(store: Store, order_id: int = ORDER_ID) -> str:
    return urlsplit(emission_services.selfservice_url_for(store_id=store.pk, order_id=order_id)).path


def jumpseller_order(order_id: int = ORDER_ID, **changes) -> responses.BaseResponse:
    return responses.get(f"{API}/orders/{order_id}.json", json=order_json(order_id, **changes))


def configure(store: Store, **fields) -> EmissionSettings:
    emission_services.emission_settings_for(store_id=store.pk)
    EmissionSettings.objects.filter(store=store).update(**fields)
    return EmissionSettings.objects.get(store=store)


# --- Point 8: the page's budgets and the order cache -----------------------------------------------
@responses.activate
def test_reloading_the_page_reads_the_order_from_jumpseller_once(store):
    read = jumpseller_order()
    client = Client()
    for _ in range(5):
        page = client.get(page_path(store))
        assert page.status_code == 200
        assert "Orden #5001" in page.content.decode()
    assert read.call_count == 1
    assert len(responses.calls) == 1


@responses.activate
def test_the_cache_can_be_turned_off(store, settings):
    settings.SELFSERVICE_ORDER_CACHE_SECONDS = 0
    read = jumpseller_order()
    client = Client()
    for _ in range(3):
        assert client.get(page_path(store)).status_code == 200
    assert read.call_count == 3


@responses.activate
def test_a_post_reads_the_order_afresh(store):
    configure(store, mode=EmissionMode.LINK_SOLO_BOLETA)
    read = jumpseller_order()
    client = Client()
    assert client.get(page_path(store)).status_code == 200
    # The order is canceled in Jumpseller: a reload may still show the copy of the last minute, but the
    # POST that would issue the boleta looks at the order as it is now, and issues nothing.
    responses.replace(responses.GET, f"{API}/orders/{ORDER_ID}.json", json=order_json(status="canceled"))
    assert client.get(page_path(store)).status_code == 200
    posted = client.post(page_path(store), {"documento": "boleta"})
    assert posted.status_code == 410
    assert "Orden anulada" in posted.content.decode()
    assert read.call_count == 1 and len(responses.calls) == 2  # the GETs once, the POST once
    assert not Document.objects.filter(store=store).exists()
    # The fresh read refreshed the copy: the next reload says so too, without another read.
    assert client.get(page_path(store)).status_code == 410
    assert len(responses.calls) == 2


@responses.activate
def test_past_the_link_budget_a_429_in_spanish_and_nothing_is_read(store):
    read = jumpseller_order()
    client = Client()
    allowed = views.PAGE_LINK_LIMITS[0][0]
    for _ in range(allowed):
        assert client.get(page_path(store)).status_code == 200
    assert read.call_count == 1
    cache.clear()  # no copy left: a served page would have to read the order again
    refused = client.get(page_path(store))
    assert refused.status_code == 429
    text = refused.content.decode()
    assert "Demasiadas visitas" in text and "Espera un minuto" in text
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["X-Robots-Tag"] == "noindex, nofollow"
    assert read.call_count == 1 and len(responses.calls) == 1
    # POSTs count against the same budget and read nothing either.
    assert client.post(page_path(store), {"documento": "boleta"}).status_code == 429
    assert len(responses.calls) == 1


@responses.activate
def test_past_the_ip_budget_other_links_are_refused_from_that_ip_only(store, monkeypatch):
    monkeypatch.setattr(views, "PAGE_IP_LIMITS", ((2, 60.0),))
    jumpseller_order(5001)
    jumpseller_order(5002)
    third = jumpseller_order(5003)
    client = Client(REMOTE_ADDR="198.51.100.7")
    assert client.get(page_path(store, 5001)).status_code == 200
    assert client.get(page_path(store, 5002)).status_code == 200
    refused = client.get(page_path(store, 5003))
    assert refused.status_code == 429 and refused["Retry-After"]
    assert third.call_count == 0
    assert Client(REMOTE_ADDR="198.51.100.8").get(page_path(store, 5003)).status_code == 200
    assert third.call_count == 1


@responses.activate
def test_links_that_do_not_verify_spend_no_budget(store, monkeypatch):
    monkeypatch.setattr(views, "PAGE_IP_LIMITS", ((1, 60.0),))
    client = Client()
    for _ in range(3):
        assert client.get("/documento/no-es-un-enlace/").status_code == 404
    jumpseller_order()
    assert client.get(page_path(store)).status_code == 200


# --- Point 9: the taxpayer lookup answers only where the page shows its form -----------------------
@responses.activate
def test_the_lookup_answers_with_one_order_read_while_the_form_is_shown(store):
    read = jumpseller_order()
    taxpayer = responses.get(f"{OF_DEMO}/v2/dte/taxpayer/76430498-5", json=TAXPAYER)
    client = Client()
    assert client.get(page_path(store)).status_code == 200
    for _ in range(3):
        found = client.get(page_path(store) + "contribuyente/", {"rut": "76.430.498-5"})
        assert found.status_code == 200
        assert found.json()["razon_social"] == "HOSTY SPA"
    assert read.call_count == 1 and taxpayer.call_count == 3


@responses.activate
def test_the_lookup_on_an_expired_link_is_a_410_and_asks_openfactura_nothing(store):
    read = jumpseller_order(days_ago=70)
    client = Client()
    page = client.get(page_path(store))
    assert page.status_code == 410 and "Enlace vencido" in page.content.decode()
    lookup = client.get(page_path(store) + "contribuyente/", {"rut": "76430498-5"})
    assert lookup.status_code == 410
    assert lookup.json() == {"error": "expired"}
    assert lookup["X-Robots-Tag"] == "noindex, nofollow"
    assert read.call_count == 1
    assert [call.request.url for call in responses.calls] == [f"{API}/orders/{ORDER_ID}.json"]


@responses.activate
def test_after_desconectar_the_lookup_answers_as_the_page_and_the_api_key_is_gone(store):
    cfg = configure(store, demo_mode=False)
    cfg.api_key = "of-live-key-0000000000001234"
    cfg.save()
    jumpseller_order()
    client = Client()
    assert client.get(page_path(store)).status_code == 200  # the order is now in the cache
    calls = len(responses.calls)

    integration_services.store_disconnect(store_id=store.pk)  # no hooks: nothing to delete remotely

    page = client.get(page_path(store))
    lookup = client.get(page_path(store) + "contribuyente/", {"rut": "76430498-5"})
    assert page.status_code == 404 and "Enlace no válido" in page.content.decode()
    assert lookup.status_code == 404 and lookup.json() == {"error": "not_found"}
    assert len(responses.calls) == calls  # neither Jumpseller nor OpenFactura
    cfg.refresh_from_db()
    assert cfg.api_key == ""
    # Without a key the client would fall back to OpenFactura's demo company: a real store waits.
    assert cfg.queue_paused and cfg.queue_paused_reason == API_KEY_FORGOTTEN
    assert Store.objects.get(pk=store.pk).status == Store.Status.UNINSTALLED


@responses.activate
def test_desconectar_leaves_a_demo_store_s_queue_alone(store):
    cfg = configure(store, demo_mode=True, api_key="")
    integration_services.store_disconnect(store_id=store.pk)
    cfg.refresh_from_db()
    assert cfg.api_key == "" and not cfg.queue_paused
    assert len(responses.calls) == 0


@responses.activate
def test_a_store_whose_access_was_refused_has_no_page_nor_lookup_even_from_the_cache(store):
    jumpseller_order()
    client = Client()
    assert client.get(page_path(store)).status_code == 200
    integration_services.store_mark_disconnected(store_id=store.pk, reason="Jumpseller rechazó el acceso.")
    assert client.get(page_path(store)).status_code == 404
    lookup = client.get(page_path(store) + "contribuyente/", {"rut": "76430498-5"})
    assert lookup.status_code == 404 and lookup.json() == {"error": "not_found"}
    assert len(responses.calls) == 1


@responses.activate
def test_the_lookup_is_closed_when_the_page_has_no_factura_form(store):
    configure(store, mode=EmissionMode.LINK_SOLO_BOLETA)
    jumpseller_order()
    lookup = Client().get(page_path(store) + "contribuyente/", {"rut": "76430498-5"})
    assert lookup.status_code == 409 and lookup.json() == {"error": "no_form"}
    assert [call.request.url for call in responses.calls] == [f"{API}/orders/{ORDER_ID}.json"]


@responses.activate
def test_the_lookup_budget_answers_429_with_retry_after_before_reading_anything(store, monkeypatch):
    monkeypatch.setattr(views, "LOOKUP_LIMITS", ((1, 60.0),))
    jumpseller_order(days_ago=70)
    client = Client()
    assert client.get(page_path(store) + "contribuyente/", {"rut": "76430498-5"}).status_code == 410
    refused = client.get(page_path(store) + "contribuyente/", {"rut": "76430498-5"})
    assert refused.status_code == 429 and refused.json() == {"error": "rate_limited"}
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert len(responses.calls) == 1
