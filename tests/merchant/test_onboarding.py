"""Primeros pasos (issue 15 §6): the checklist read from the store's settings, one menu everywhere, the
four modes numbered as in OpenFactura's help article."""

from __future__ import annotations

import re

import pytest
import responses
from django.urls import reverse

from emission.models import EmissionSettings
from tests.integration.conftest import API, fixture_json

pytestmark = pytest.mark.django_db

MENU = [
    ("Primeros pasos", "/app/primeros-pasos/"),
    ("Resumen", "/app/"),
    ("Documentos", "/app/documentos/"),
    ("Cola", "/app/cola/"),
    ("Emisor", "/app/emisor/"),
    ("Impuestos", "/app/impuestos/"),
    ("F29", "/app/f29/"),
    ("Configuración", "/app/configuracion/"),
    ("Conexión", "/jumpseller/app/"),
    ("Notificaciones", "/jumpseller/app/notificaciones/"),
]


def _steps(text: str) -> dict[str, str]:
    return dict(re.findall(r'<li data-step="([a-z_]+)" data-state="([a-z]+)">', text))


def _menu(text: str) -> list[tuple[str, str]]:
    nav = re.search(r'<nav aria-label="Secciones" class="merchant-menu">(.*?)</nav>', text, re.S).group(1)
    return [(label, href) for href, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav)]


def _paid_orders(*orders: dict) -> None:
    responses.get(f"{API}/orders.json", json=[{"order": order} for order in orders])


def _clean_order() -> dict:
    paid = fixture_json("order_paid__boleta_afecta")
    return paid.get("order", paid)


def test_the_post_install_target_is_the_checklist(merchant):
    assert reverse("merchant:onboarding") == "/app/primeros-pasos/"
    with responses.RequestsMock() as mocked:
        mocked.get(f"{API}/orders.json", json=[])
        response = merchant.get("/app/primeros-pasos/")
    assert response.status_code == 200
    assert "<h1>Primeros pasos</h1>" in response.content.decode()


@responses.activate
def test_a_new_store_sees_what_is_done_from_its_settings(merchant, store):
    _paid_orders(_clean_order())
    text = merchant.get("/app/primeros-pasos/").content.decode()
    assert _steps(text) == {
        "openfactura": "demo",  # staying in demo mode is a valid first choice
        "mode": "done",
        "issuer": "pending",
        "tax_check": "done",
        "go_live": "pending",
    }
    assert "3 de 5 pasos listos" in text
    assert "Modo 2 — Boleta al pagar, con enlace para cambiarla por factura" in text
    for url in ('href="/app/configuracion/"', 'href="/app/emisor/"', 'href="/app/impuestos/"'):
        assert url in text.split('<ol class="steps">')[1]


@responses.activate
def test_each_step_follows_the_settings_not_the_pages_visited(merchant, store):
    paid = _clean_order()
    untaxed = {**paid, "products": [{**p, "taxes": []} for p in paid["products"]]}
    _paid_orders(untaxed)
    merchant.get("/app/emisor/")  # visiting a page ticks nothing
    merchant.get("/app/impuestos/")
    text = merchant.get("/app/primeros-pasos/").content.decode()
    assert _steps(text)["issuer"] == "pending"
    assert _steps(text)["tax_check"] == "pending"  # the products have no IVA: a warning

    EmissionSettings.objects.filter(store=store).update(
        acteco="479100", sucursal="79457966", api_key="a" * 32, demo_mode=False, mode=3
    )
    text = merchant.get("/app/primeros-pasos/").content.decode()
    steps = _steps(text)
    assert (steps["openfactura"], steps["issuer"], steps["go_live"]) == ("done", "done", "done")
    assert "Actividad 479100, sucursal 79457966." in text
    assert "Modo 3 — Sin documento al pagar" in text

    # OpenFactura rejects the key later: the step is pending again.
    from emission.services import AUTH_ERROR_REASON

    EmissionSettings.objects.filter(store=store).update(
        queue_paused=True, queue_paused_reason=AUTH_ERROR_REASON
    )
    assert _steps(merchant.get("/app/primeros-pasos/").content.decode())["openfactura"] == "pending"


@responses.activate
def test_one_menu_with_the_same_names_and_order_on_every_merchant_page(merchant):
    _paid_orders()
    pages = [
        "/app/primeros-pasos/",
        "/app/",
        "/app/documentos/",
        "/app/cola/",
        "/app/impuestos/",
        "/app/configuracion/",
        "/jumpseller/app/",
        "/jumpseller/app/notificaciones/",
    ]
    for path in pages:
        response = merchant.get(path)
        assert response.status_code == 200, path
        text = response.content.decode()
        assert _menu(text) == MENU, path
        active = re.findall(r'<a href="([^"]+)" class="active" aria-current="page">', text)
        assert active == [path], path
    assert "Inicio" not in merchant.get("/jumpseller/app/").content.decode()


def test_the_four_modes_are_numbered_in_the_configuration_form(merchant):
    text = merchant.get("/app/configuracion/").content.decode()
    labels = re.findall(r"<span>(Modo \d — [^<]+)<small>", text)
    assert [label[:6] for label in labels] == ["Modo 1", "Modo 2", "Modo 3", "Modo 4"]
    assert labels[0] == "Modo 1 — Boleta al pagar"
    assert labels[3] == "Modo 4 — Sin documento al pagar: el enlace emite solo boleta"
