"""Cola (pause/resume, counts, last error), Información del emisor and Resumen."""

from __future__ import annotations

import pytest
import responses
from django.utils import timezone

from emission.models import EmissionAttempt, EmissionSettings
from merchant.models import AuditEntry

from .conftest import OF_DEMO, csrf_token, make_document

pytestmark = pytest.mark.django_db

HOSTY = {
    "rut": "76430498-5",
    "razonSocial": "HOSTY SPA",
    "glosaDescriptiva": "EMPRESAS DE SERVICIOS INTEGRALES DE INFORMÁTICA",
    "direccion": "ARTURO PRAT 527 3 pis OF 1",
    "comuna": "Curicó",
    "sucursales": [
        {"cdgSIISucur": "79457965", "comuna": "Curicó", "direccion": "ARTURO PRAT 527 3 pis OF 1"},
        {
            "cdgSIISucur": "79457966",
            "comuna": "Santiago",
            "direccion": "AV LIBERTADOR BERNARDO O'HIGGINS 1302",
        },
    ],
    "actividades": [
        {
            "giro": "EMPRESAS DE SERVICIOS INTEGRALES DE INFORMÁTICA",
            "actividadEconomica": "CONSULTORIA DE INFORMATICA",
            "codigoActividadEconomica": "620200",
            "actividadPrincipal": True,
        },
        {
            "giro": "VENTA POR INTERNET",
            "actividadEconomica": "VENTA AL POR MENOR POR INTERNET",
            "codigoActividadEconomica": "479100",
            "actividadPrincipal": False,
        },
    ],
}


def test_the_queue_shows_counts_and_the_last_error(merchant, store, other_store):
    make_document(store, state="pending")
    failed = make_document(store, state="requires_review")
    make_document(other_store, state="pending")
    EmissionAttempt.objects.create(
        document=failed,
        store=store,
        started_at=timezone.now(),
        outcome="rejected",
        error_message="RUT inválido",
    )
    text = merchant.get("/app/cola/").content.decode()
    assert "En marcha" in text
    assert "RUT inválido" in text
    assert '?state=pending">Pendiente</a></td><td class="num">1</td>' in text
    assert '?state=requires_review">Requiere revisión</a></td><td class="num">1</td>' in text


def test_pause_and_resume_say_what_they_did_and_are_idempotent(merchant, store, monkeypatch):
    monkeypatch.setattr("core.queue.publish", lambda *a, **k: None)
    make_document(store, state="pending", request_json="{}")
    page = merchant.get("/app/cola/")
    token = csrf_token(page)
    text = merchant.post(
        "/app/cola/",
        {
            "csrfmiddlewaretoken": token,
            "accion": "pausar",
            "motivo": "Inventario",
            "confirmacion": store.code,
        },
        follow=True,
    ).content.decode()
    assert "Cola pausada" in text and "En pausa" in text and "Motivo: Inventario" in text
    cfg = EmissionSettings.objects.get(store=store)
    assert cfg.queue_paused and cfg.queue_paused_reason == "Inventario"
    again = merchant.post(
        "/app/cola/",
        {"csrfmiddlewaretoken": token, "accion": "pausar", "confirmacion": store.code},
        follow=True,
    )
    assert "La cola ya estaba pausada." in again.content.decode()

    text = merchant.post(
        "/app/cola/", {"csrfmiddlewaretoken": token, "accion": "reanudar"}, follow=True
    ).content.decode()
    assert "Cola reanudada: 1 documento(s) en espera se están enviando." in text
    assert not EmissionSettings.objects.get(store=store).queue_paused
    again = merchant.post("/app/cola/", {"csrfmiddlewaretoken": token, "accion": "reanudar"}, follow=True)
    assert "La cola ya estaba en marcha." in again.content.decode()
    assert list(AuditEntry.objects.values_list("what", flat=True).order_by("pk")) == [
        "Cola pausada: Inventario",
        "Cola reanudada",
    ]


def test_the_issuer_page_offers_actividades_and_sucursales_and_previews_the_print(merchant, store):
    EmissionSettings.objects.create(store=store, organization=HOSTY, organization_fetched_at=timezone.now())
    text = merchant.get("/app/emisor/").content.decode()
    assert "76.430.498-5" in text and "HOSTY SPA" in text
    assert "479100 · VENTA AL POR MENOR POR INTERNET" in text
    assert "AV LIBERTADOR BERNARDO O&#x27;HIGGINS 1302, Santiago" in text
    page = merchant.get("/app/emisor/")
    response = merchant.post(
        "/app/emisor/",
        {"csrfmiddlewaretoken": csrf_token(page), "acteco": "479100", "sucursal": "79457966"},
        follow=True,
    )
    assert "Emisor guardado." in response.content.decode()
    cfg = EmissionSettings.objects.get(store=store)
    assert (cfg.acteco, cfg.sucursal) == ("479100", "79457966")
    preview = response.content.decode().split('id="emisor-preview"')[1]
    assert "Giro: VENTA POR INTERNET" in preview and "Santiago" in preview
    assert "Actividad económica: (vacío) → 479100" in AuditEntry.objects.get().what


def test_the_issuer_refuses_a_sucursal_of_another_company(merchant, store):
    EmissionSettings.objects.create(store=store, organization=HOSTY)
    page = merchant.get("/app/emisor/")
    response = merchant.post(
        "/app/emisor/", {"csrfmiddlewaretoken": csrf_token(page), "acteco": "", "sucursal": "12345"}
    )
    assert response.status_code == 400
    assert EmissionSettings.objects.get(store=store).sucursal == ""


@responses.activate
def test_the_issuer_refresh_reads_openfactura_again(merchant, store):
    EmissionSettings.objects.create(store=store, organization={"rut": "1-9", "razonSocial": "VIEJA"})
    responses.get(f"{OF_DEMO}/v2/dte/organization", json=HOSTY)
    page = merchant.get("/app/emisor/")
    response = merchant.post(
        "/app/emisor/", {"csrfmiddlewaretoken": csrf_token(page), "accion": "actualizar"}, follow=True
    )
    assert "Datos del emisor actualizados desde OpenFactura." in response.content.decode()
    assert "HOSTY SPA" in response.content.decode()


@responses.activate  # in demo mode the Resumen's checklist reads recent orders for the tax check
def test_the_summary_counts_todays_documents_and_what_needs_attention(merchant, store, other_store):
    responses.get("https://api.jumpseller.test/v1/orders.json", json=[])
    make_document(store, state="emitted", token="t", mnt_total=12990, emitted_at=timezone.now())
    make_document(store, state="emitted", token="t2", mnt_total=1000, emitted_at=timezone.now())
    make_document(store, state="requires_review")
    make_document(other_store, state="emitted", token="t3", mnt_total=5000, emitted_at=timezone.now())
    text = merchant.get("/app/").content.decode()
    assert "Conectada" in text and "Empresa de demostración" in text
    assert '<td class="num">2</td><td class="num">$13.990</td>' in text
    assert "1 documento(s) requieren revisión" in text
