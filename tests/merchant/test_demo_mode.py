"""Demo mode on the merchant pages (issue 14, point 5): the address that receives demo documents (prefilled
from the store's Jumpseller info, validated, audited), the "attach demo documents" toggle, and the
Resumen's notice and "go live" checklist (API key, issuer, tax check, demo off)."""

from __future__ import annotations

import re

import pytest
import responses
from django.utils import timezone

from emission import services as emission_services
from emission.models import EmissionSettings
from merchant.models import AuditEntry
from tests.integration.conftest import fixture_json

from .conftest import API, csrf_token, make_document

pytestmark = pytest.mark.django_db

URL = "/app/configuracion/"
STORE_EMAIL = "hola@tiendanunoa.cl"
KEY = "f3a9c0d1e2b34a5f8899aabbccdd7e41"
IVA = {"id": 1, "name": "IVA", "rate": 19, "fixed": False, "tax_on_product_price": True}
CLEAN_ORDER = {"id": 1, "shipping": 0, "products": [{"name": "Polera", "taxes": [IVA]}]}


@pytest.fixture
def store(store):
    """The store as the install left it: its address from ``/store/info.json``."""
    store.email = STORE_EMAIL
    store.save(update_fields=["email"])
    return store


def form_data(response, **changes) -> dict:
    data = {
        "csrfmiddlewaretoken": csrf_token(response),
        "api_key": "",
        "demo_mode": "on",
        "demo_recipient_email": STORE_EMAIL,
        "mode": "2",
        "email_customer": "on",
        "merchant_email": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def checklist(text: str) -> dict[str, str]:
    return dict(re.findall(r'data-item="(\w+)" data-state="(\w+)"', text))


def notice(text: str) -> str:
    found = re.search(r'<p id="modo-demo-aviso">(.*?)</p>', text, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)) if found else ""


# --- Configuración -------------------------------------------------------------------------------------
def test_a_new_store_s_demo_address_is_its_own_email_prefilled_on_the_page(merchant, store):
    text = merchant.get(URL).content.decode()
    assert "Correo que recibe los documentos de prueba" in text
    assert f'name="demo_recipient_email" value="{STORE_EMAIL}"' in text
    assert "Adjuntar los documentos de prueba en los pedidos de Jumpseller" in text
    [toggle] = re.findall(r'<input type="checkbox" name="demo_attach_documents"[^>]*>', text)
    assert " checked" not in toggle  # off unless the merchant turns it on
    cfg = EmissionSettings.objects.get(store=store)
    assert (cfg.demo_recipient_email, cfg.demo_attach_documents) == (STORE_EMAIL, False)


def test_settings_saved_before_the_field_existed_are_prefilled_but_not_saved_until_confirmed(merchant, store):
    EmissionSettings.objects.create(store=store)  # demo_recipient_email empty
    text = merchant.get(URL).content.decode()
    assert f'name="demo_recipient_email" value="{STORE_EMAIL}"' in text
    assert EmissionSettings.objects.get(store=store).demo_recipient_email == ""


def test_the_demo_address_and_the_toggle_are_saved_confirmed_and_audited(merchant, store):
    page = merchant.get(URL)
    response = merchant.post(
        URL,
        form_data(page, demo_recipient_email="pruebas@tiendanunoa.cl", demo_attach_documents="on"),
        follow=True,
    )
    assert response.status_code == 200
    cfg = EmissionSettings.objects.get(store=store)
    assert (cfg.demo_recipient_email, cfg.demo_attach_documents) == ("pruebas@tiendanunoa.cl", True)
    [entry] = AuditEntry.objects.filter(store=store)
    assert entry.what.splitlines() == [
        f"Correo que recibe los documentos de prueba: {STORE_EMAIL} → pruebas@tiendanunoa.cl",
        "Adjuntar los documentos de prueba en Jumpseller: no → sí",
    ]
    text = response.content.decode()
    assert "Configuración guardada: Correo que recibe los documentos de prueba" in text
    assert 'name="demo_recipient_email" value="pruebas@tiendanunoa.cl"' in text


def test_an_invalid_demo_address_is_refused_in_spanish_and_nothing_is_saved(merchant, store):
    page = merchant.get(URL)
    response = merchant.post(URL, form_data(page, demo_recipient_email="hola@", demo_attach_documents="on"))
    assert response.status_code == 400
    assert "Ingresa un correo válido, por ejemplo nombre@tutienda.cl." in response.content.decode()
    cfg = EmissionSettings.objects.get(store=store)
    assert (cfg.demo_recipient_email, cfg.demo_attach_documents) == (STORE_EMAIL, False)
    assert not AuditEntry.objects.exists()


def test_the_demo_address_can_be_emptied_and_that_is_audited(merchant, store):
    page = merchant.get(URL)
    merchant.post(URL, form_data(page, demo_recipient_email=""))
    assert EmissionSettings.objects.get(store=store).demo_recipient_email == ""
    [entry] = AuditEntry.objects.filter(store=store)
    assert entry.what == f"Correo que recibe los documentos de prueba: {STORE_EMAIL} → (vacío)"


def test_resending_a_demo_document_says_it_went_to_the_merchant(merchant, store, mailoutbox):
    emission_services.emission_settings_for(store_id=store.pk)
    document = make_document(
        store, state="emitted", token="t", folio=77, demo=True, pdf=b"%PDF-1.4", emitted_at=timezone.now()
    )
    page = merchant.get("/app/documentos/")
    response = merchant.post(
        f"/app/documentos/{document.pk}/reenviar-correo",
        {"csrfmiddlewaretoken": csrf_token(page)},
        follow=True,
    )
    assert (
        f"Correo de prueba reenviado a {STORE_EMAIL} (modo demo), no al cliente." in response.content.decode()
    )
    assert [m.to for m in mailoutbox] == [[STORE_EMAIL]]
    assert mailoutbox[0].subject.startswith("[DEMO] Boleta electrónica N° 77")


# --- Resumen ---------------------------------------------------------------------------------------------
@responses.activate
def test_a_new_install_s_resumen_says_where_demo_documents_go_and_what_is_left(merchant, store):
    paid = fixture_json("order_paid__mixta_despacho_exento")
    orders = responses.get(f"{API}/orders.json", json=[{"order": paid.get("order", paid)}])
    text = merchant.get("/app/").content.decode()
    assert notice(text) == (
        f"Modo demo: los documentos son de prueba; los correos van a {STORE_EMAIL}, no a tus clientes; "
        "no se adjuntan en Jumpseller."
    )
    assert checklist(text) == {
        "api_key": "pending",
        "issuer": "pending",
        "tax_check": "pending",
        "demo_off": "pending",
    }
    assert '<a href="/app/configuracion/">Ir a Configuración</a>' in text
    assert '<a href="/app/emisor/">Ir a Emisor</a>' in text
    assert '<a href="/app/impuestos/">Revisar impuestos</a>' in text
    assert "Hay advertencias sobre cómo se documentan tus productos o despachos." in text
    assert orders.call_count == 1

    merchant.get("/app/")  # a recent check is reused: Jumpseller's budget is not spent again
    assert orders.call_count == 1


@responses.activate
def test_the_checklist_marks_what_is_done(merchant, store):
    responses.get(f"{API}/orders.json", json=[{"order": CLEAN_ORDER}])
    emission_services.emission_settings_for(store_id=store.pk)
    EmissionSettings.objects.filter(store=store).update(
        api_key=KEY, acteco="620200", sucursal="", demo_attach_documents=True
    )
    text = merchant.get("/app/").content.decode()
    assert checklist(text) == {
        "api_key": "done",
        "issuer": "done",
        "tax_check": "done",
        "demo_off": "pending",
    }
    assert "OpenFactura aceptó tu API key." in text
    assert "Actividad 620200, casa matriz." in text
    assert "Sin advertencias en tus últimos 1 pedidos pagados." in text
    assert notice(text).endswith("; se adjuntan en Jumpseller como documentos de prueba.")
    assert 'href="/app/emisor/"' not in text.split('id="modo-demo"')[1].split("</section>")[0]


@responses.activate
def test_a_key_openfactura_rejected_and_an_unreadable_tax_check_are_not_done(merchant, store):
    responses.get(f"{API}/orders.json", status=503, json={"message": "down"})
    emission_services.emission_settings_for(store_id=store.pk)
    EmissionSettings.objects.filter(store=store).update(
        api_key=KEY, queue_paused=True, queue_paused_reason=emission_services.AUTH_ERROR_REASON
    )
    text = merchant.get("/app/").content.decode()
    states = checklist(text)
    assert (states["api_key"], states["tax_check"]) == ("pending", "unknown")
    assert "OpenFactura rechazó tu API key: ingrésala de nuevo." in text
    assert "Sin verificar" in text and "No pudimos leer tus pedidos en Jumpseller" in text
    assert len(responses.calls) == 1  # one short try: the Resumen never waits on retries


@responses.activate
def test_without_a_demo_address_the_resumen_says_nobody_is_emailed(merchant, store):
    responses.get(f"{API}/orders.json", json=[])
    emission_services.emission_settings_for(store_id=store.pk)
    EmissionSettings.objects.filter(store=store).update(demo_recipient_email="")
    text = notice(merchant.get("/app/").content.decode())
    assert text == (
        "Modo demo: los documentos son de prueba; no se envía ningún correo, ni a ti ni a tus clientes, "
        "hasta que indiques un correo para las pruebas en Configuración; no se adjuntan en Jumpseller."
    )


@responses.activate
def test_live_stores_see_no_demo_notice_and_no_checklist(merchant, store):
    EmissionSettings.objects.create(store=store, demo_mode=False, api_key=KEY)
    text = merchant.get("/app/").content.decode()
    assert 'id="modo-demo"' not in text and "data-item=" not in text
    assert len(responses.calls) == 0
