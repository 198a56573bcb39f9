"""Configuración: the API key is checked live before it is saved, kept encrypted and shown masked;
every change is explicit, confirmed on screen and audited (never with the key)."""

from __future__ import annotations

import pytest
import responses
from django.db import connection

from emission.models import EmissionSettings
from merchant.models import AuditEntry

from .conftest import OF_DEMO, OF_PROD, csrf_token

pytestmark = pytest.mark.django_db

URL = "/app/configuracion/"
KEY = "f3a9c0d1e2b34a5f8899aabbccdd7e41"
ORGANIZATION = {
    "rut": "76430498-5",
    "razonSocial": "HOSTY SPA",
    "glosaDescriptiva": "EMPRESAS DE SERVICIOS INTEGRALES DE INFORMÁTICA",
    "direccion": "ARTURO PRAT 527",
    "comuna": "Curicó",
    "sucursales": [],
    "actividades": [
        {
            "giro": "SERVICIOS",
            "actividadEconomica": "CONSULTORIA",
            "codigoActividadEconomica": "620200",
            "actividadPrincipal": True,
        }
    ],
}


def form_data(response, **changes) -> dict:
    data = {
        "csrfmiddlewaretoken": csrf_token(response),
        "api_key": "",
        "demo_mode": "on",
        "mode": "2",
        "email_customer": "on",
        "merchant_email": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_page_explains_the_four_modes_and_shows_the_demo_banner(merchant):
    response = merchant.get(URL)
    assert response.status_code == 200
    assert "frame-ancestors" in response["Content-Security-Policy"]
    text = response.content.decode()
    assert "Modo demostración activo" in text
    assert "Integrar con empresa de demostración en ambiente de pruebas" in text
    assert text.count('type="radio" name="mode"') == 4
    assert "Sin documento al pagar: el enlace permite elegir boleta o factura" in text
    assert "Tratar productos sin impuesto como afectos (IVA incluido)" in text
    assert "ninguna (se usa la empresa de demostración)" in text


def test_without_a_session_the_page_sends_the_browser_to_the_app_url(db):
    from django.test import Client

    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/jumpseller/"


@responses.activate
def test_a_valid_key_is_checked_in_production_saved_encrypted_masked_and_audited(merchant, store):
    check = responses.get(f"{OF_PROD}/v2/dte/organization", json=ORGANIZATION)
    page = merchant.get(URL)
    response = merchant.post(URL, form_data(page, api_key=KEY, demo_mode=None, mode="1"), follow=True)

    assert check.call_count == 1
    assert check.calls[0].request.headers["apikey"] == KEY
    cfg = EmissionSettings.objects.get(store=store)
    assert (cfg.api_key, cfg.demo_mode, cfg.mode) == (KEY, False, 1)
    assert cfg.organization == ORGANIZATION and cfg.organization_fetched_at is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM emission_emissionsettings WHERE id = %s", [cfg.pk])
        assert KEY not in cursor.fetchone()[0]
    text = response.content.decode()
    assert "Configuración guardada" in text
    assert "••••••••7e41" in text and KEY not in text
    assert "Modo demostración activo" not in text
    [entry] = AuditEntry.objects.filter(store=store)
    assert KEY not in entry.what and "7e41" not in entry.what
    assert "API key de OpenFactura: reemplazada" in entry.what
    assert (
        "Modo de emisión: Modo 2 — Boleta al pagar, con enlace para cambiarla por factura "
        "→ Modo 1 — Boleta al pagar" in entry.what
    )
    assert "tienda-nunoa" in entry.who


@responses.activate
def test_a_key_in_demo_mode_is_checked_against_the_demo_environment(merchant, store):
    check = responses.get(f"{OF_DEMO}/v2/dte/organization", json=ORGANIZATION)
    page = merchant.get(URL)
    merchant.post(URL, form_data(page, api_key=KEY))
    assert check.call_count == 1
    assert EmissionSettings.objects.get(store=store).api_key == KEY


@responses.activate
def test_an_invalid_key_is_refused_in_spanish_and_nothing_is_saved(merchant, store):
    responses.get(f"{OF_PROD}/v2/dte/organization", status=401, json={"error": {"message": "Unauthorized"}})
    page = merchant.get(URL)
    response = merchant.post(URL, form_data(page, api_key="mala-1234", demo_mode=None, mode="1"))

    assert response.status_code == 400
    assert "OpenFactura no reconoce esta API key" in response.content.decode()
    assert "No se guardó ningún cambio" in response.content.decode()
    cfg = EmissionSettings.objects.get(store=store)
    assert (cfg.api_key, cfg.demo_mode, cfg.mode) == ("", True, 2)
    assert not AuditEntry.objects.exists()


@responses.activate
def test_openfactura_unreachable_saves_nothing(merchant, store):
    responses.get(f"{OF_PROD}/v2/dte/organization", status=503)
    page = merchant.get(URL)
    response = merchant.post(URL, form_data(page, api_key=KEY, demo_mode=None))
    assert response.status_code == 400
    assert "No pudimos verificar la API key" in response.content.decode()
    assert EmissionSettings.objects.get(store=store).api_key == ""
    assert not AuditEntry.objects.exists()


def test_leaving_demo_mode_without_any_key_is_refused(merchant, store):
    page = merchant.get(URL)
    response = merchant.post(URL, form_data(page, demo_mode=None))
    assert response.status_code == 400
    assert "ingresa la API key de tu empresa" in response.content.decode()
    assert EmissionSettings.objects.get(store=store).demo_mode is True


@responses.activate
def test_a_blank_key_keeps_the_current_one_and_other_options_are_saved(merchant, store):
    EmissionSettings.objects.create(store=store, api_key=KEY, demo_mode=False, organization=ORGANIZATION)
    page = merchant.get(URL)
    response = merchant.post(
        URL,
        form_data(
            page,
            demo_mode=None,
            untaxed_taxed="on",
            factura_directa="on",
            email_copy_merchant="on",
            merchant_email="ventas@tienda.cl",
        ),
        follow=True,
    )
    assert len(responses.calls) == 0
    cfg = EmissionSettings.objects.get(store=store)
    assert cfg.api_key == KEY and cfg.organization == ORGANIZATION
    assert (cfg.untaxed_items, cfg.factura_directa, cfg.email_copy_merchant, cfg.merchant_email) == (
        "taxed",
        True,
        True,
        "ventas@tienda.cl",
    )
    [entry] = AuditEntry.objects.all()
    assert "Productos sin impuesto: Exentos → Afectos (IVA incluido)" in entry.what
    assert "API key" not in entry.what
    assert "Configuración guardada" in response.content.decode()


def test_a_copy_to_the_merchant_needs_an_email_next_to_the_field(merchant, store):
    page = merchant.get(URL)
    response = merchant.post(URL, form_data(page, email_copy_merchant="on"))
    assert response.status_code == 400
    assert "Indica a qué correo enviamos la copia." in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_saving_without_changes_says_so_and_audits_nothing(merchant, store):
    page = merchant.get(URL)
    response = merchant.post(URL, form_data(page), follow=True)
    assert "No había cambios que guardar." in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_a_post_without_csrf_is_refused(merchant, store):
    response = merchant.post(URL, {"mode": "1", "demo_mode": "on"})
    assert response.status_code == 403
    assert EmissionSettings.objects.filter(store=store, mode=1).count() == 0


@responses.activate
def test_leaving_demo_mode_checks_the_stored_key_in_production(merchant, store):
    EmissionSettings.objects.create(store=store, api_key=KEY, demo_mode=True)
    check = responses.get(f"{OF_PROD}/v2/dte/organization", status=401, json={"error": {"message": "no"}})
    page = merchant.get(URL)
    response = merchant.post(URL, form_data(page, demo_mode=None))
    assert check.call_count == 1 and check.calls[0].request.headers["apikey"] == KEY
    assert response.status_code == 400
    assert "OpenFactura no reconoce esta API key" in response.content.decode()
    assert EmissionSettings.objects.get(store=store).demo_mode is True

    responses.replace(responses.GET, f"{OF_PROD}/v2/dte/organization", json=ORGANIZATION)
    merchant.post(URL, form_data(page, demo_mode=None))
    cfg = EmissionSettings.objects.get(store=store)
    assert (cfg.demo_mode, cfg.organization) == (False, ORGANIZATION)
