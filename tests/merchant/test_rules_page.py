"""The "Reglas de emisión" page (issue 17 §1): add, reorder, remove and try rules; every change audited
like Configuración's; amounts typed the Chilean way; Spanish errors that keep what was typed."""

from __future__ import annotations

import html
import re

import pytest
import responses

from emission.models import EmissionRule
from merchant.models import AuditEntry
from tests.flows import example_order
from tests.integration.conftest import API

from .conftest import csrf_token

pytestmark = pytest.mark.django_db

PAGE = "/app/configuracion/reglas/"
WHO = "Administrador de la tienda tienda-nunoa (sesión de Jumpseller)"


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


def add(merchant, **fields):
    page = merchant.get(PAGE)
    data = {"csrfmiddlewaretoken": csrf_token(page), "mode": "1", **fields}
    return merchant.post(PAGE, data)


def act(merchant, rule: EmissionRule, action: str):
    page = merchant.get(PAGE)
    return merchant.post(f"{PAGE}{rule.pk}/{action}", {"csrfmiddlewaretoken": csrf_token(page)}, follow=True)


def listed(merchant) -> list[str]:
    """The rules as the page lists them, in order."""
    page = text_of(merchant.get(PAGE))
    return re.findall(r'<span class="num">(\d+)\.</span> <span class="texto">(.*?)</span> ', page)


def issue_example(merchant):
    """The issue's example: Mayoristas → factura directa; POS → modo 1; everyone else → the store's mode 2."""
    assert (
        add(
            merchant, name="Mayoristas", customer_category="Mayoristas", mode="2", factura_directa="on"
        ).status_code
        == 302
    )
    assert add(merchant, origin="pos", mode="1").status_code == 302


def test_configuration_links_to_the_rules_page(merchant):
    page = merchant.get("/app/configuracion/").content.decode()
    assert f'href="{PAGE}"' in page and "Reglas de emisión" in page


def test_add_rules_in_order_with_chilean_amounts_and_audit(merchant, store):
    issue_example(merchant)
    assert add(merchant, total_min="$100.000", total_max="1.000.000", mode="3").status_code == 302
    rows = list(EmissionRule.objects.filter(store=store).order_by("position"))
    assert [(r.position, r.customer_category, r.origin, r.mode, r.factura_directa) for r in rows] == [
        (1, "Mayoristas", "", 2, True),
        (2, "", "pos", 1, False),
        (3, "", "", 3, False),
    ]
    assert (rows[2].total_min, rows[2].total_max) == (100_000, 1_000_000)
    page = text_of(merchant.get(PAGE))
    assert "Si la categoría del cliente es «Mayoristas» → Modo 2, factura directa" in page
    assert "Si el origen es Punto de venta (POS) → Modo 1" in page
    assert "Si el total es $100.000 o más y el total es menor a $1.000.000 → Modo 3" in page
    assert "Todos los demás pedidos → Modo 2 — Boleta al pagar, con enlace" in page
    entries = list(AuditEntry.objects.filter(store=store).order_by("pk"))
    assert [e.who for e in entries] == [WHO] * 3
    assert entries[0].what == (
        "Reglas de emisión: agregada la Regla 1 «Mayoristas» — Si la categoría del cliente es «Mayoristas» → "
        "Modo 2, factura directa"
    )
    # The same trail as Configuración's: shown there too.
    assert (
        "Reglas de emisión: agregada la Regla 2 — Si el origen es Punto de venta (POS) → Modo 1"
        in text_of(merchant.get("/app/configuracion/"))
    )


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({}, "Indica al menos una condición."),
        ({"total_min": "10,5"}, "Escribe el monto en pesos, sin decimales: por ejemplo 10.000 o $10.000."),
        ({"total_max": "10.00"}, "Escribe el monto en pesos, sin decimales: por ejemplo 10.000 o $10.000."),
        ({"total_min": "50.000", "total_max": "$50.000"}, "Debe ser mayor que el monto «desde»."),
        ({"origin": "pos", "mode": ""}, "Elige el modo de emisión que aplica esta regla."),
        ({"origin": "tienda-fisica"}, "Escoja una opción válida."),
    ],
)
def test_a_refused_rule_says_why_in_spanish_and_keeps_what_was_typed(merchant, store, fields, error):
    typed = {"name": "Grandes compras", "customer_category": "", **fields}
    response = add(merchant, **typed)
    assert response.status_code == 400
    page = text_of(response)
    assert error in page
    assert 'value="Grandes compras"' in page
    for name in ("total_min", "total_max"):
        if fields.get(name):
            assert f'value="{fields[name]}"' in page
    assert not EmissionRule.objects.exists() and not AuditEntry.objects.exists()


def test_reorder_up_and_down_and_remove_are_audited(merchant, store):
    issue_example(merchant)
    add(merchant, company_rut="on", mode="1")
    mayoristas, pos, empresa = EmissionRule.objects.filter(store=store).order_by("position")

    page = text_of(act(merchant, pos, "subir"))
    assert "Orden cambiado: «Si el origen es Punto de venta (POS) → Modo 1» pasó a ser la regla 1." in page
    assert [text for _, text in listed(merchant)][:2] == [
        "Si el origen es Punto de venta (POS) → Modo 1",
        "<strong>Mayoristas</strong><small>Si la categoría del cliente es «Mayoristas» → Modo 2, factura "
        "directa</small>",
    ]
    page = text_of(act(merchant, mayoristas, "bajar"))
    assert "«Mayoristas» pasó a ser la regla 3" in page
    assert list(EmissionRule.objects.filter(store=store).values_list("pk", flat=True)) == [
        pos.pk,
        empresa.pk,
        mayoristas.pk,
    ]
    page = text_of(act(merchant, pos, "subir"))  # already first: nothing changes, nothing audited
    assert "Esa regla ya es la primera: no se cambió el orden." in page

    page = text_of(act(merchant, empresa, "eliminar"))
    assert "Regla eliminada: Regla 2 — Si el cliente ingresó RUT de empresa → Modo 1" in page
    assert [(r.position, r.pk) for r in EmissionRule.objects.filter(store=store)] == [
        (1, pos.pk),
        (2, mayoristas.pk),
    ]
    trail = list(AuditEntry.objects.filter(store=store).order_by("pk").values_list("what", flat=True))[3:]
    assert trail == [
        "Reglas de emisión: «Si el origen es Punto de venta (POS) → Modo 1» pasó a ser la regla 1",
        "Reglas de emisión: «Mayoristas» pasó a ser la regla 3",
        "Reglas de emisión: eliminada la Regla 2 — Si el cliente ingresó RUT de empresa → Modo 1",
    ]


def test_another_stores_rule_cannot_be_touched(merchant, store, other_store):
    theirs = EmissionRule.objects.create(store=other_store, position=1, origin="pos", mode=1)
    for action in ("subir", "bajar", "eliminar"):
        assert act(merchant, theirs, action).status_code == 404
    assert EmissionRule.objects.filter(pk=theirs.pk, position=1).exists()
    assert not AuditEntry.objects.exists()


@responses.activate
def test_probar_reads_the_order_and_says_which_rule_and_what_it_would_issue(merchant, store):
    issue_example(merchant)
    wholesale = example_order("empresa", id=1005, status_enum="paid")  # customer 505, company RUT
    pos = example_order("afecta", id=1006, status_enum="paid", source={"created_from": "pos"})
    web = example_order("afecta", id=1007, status_enum="paid")
    for order in (wholesale, pos, web):
        responses.get(f"{API}/orders/{order['id']}.json", json={"order": order})
    customers = responses.get(
        f"{API}/customers/505.json",
        json={"customer": {"id": 505, "customer_categories": [{"id": 1, "name": "Mayoristas"}]}},
    )
    responses.get(f"{API}/customers/501.json", json={"customer": {"id": 501, "customer_categories": []}})

    page = text_of(merchant.get(PAGE, {"orden": "1005"}))
    assert 'Regla que se aplica: <strong id="probar-regla">Regla 1 «Mayoristas» — Si la categoría' in page
    assert 'Se emitiría: <strong id="probar-emision">Factura electrónica al pagar' in page
    page = text_of(merchant.get(PAGE, {"orden": "1006"}))
    assert "Regla 2 — Si el origen es Punto de venta (POS) → Modo 1" in page
    assert "Boleta electrónica al pagar, sin enlace para cambiarla por factura" in page
    assert (
        'Regla 1: <span class="pill">no se cumple</span> el cliente no está en la categoría «Mayoristas»'
        in page
    )
    page = text_of(merchant.get(PAGE, {"orden": "1007"}))
    assert 'Regla que se aplica: <strong id="probar-regla">Modo de la tienda</strong>' in page
    assert "Boleta electrónica al pagar, con enlace para cambiarla por factura" in page
    merchant.get(PAGE, {"orden": "1005"})
    assert customers.call_count == 1  # the category is cached
    assert EmissionRule.objects.count() == 2 and AuditEntry.objects.count() == 2  # trying changes nothing


@responses.activate
def test_probar_errors_are_spanish(merchant, store):
    responses.get(f"{API}/orders/4040.json", status=404, json={"message": "Not Found"})
    responses.get(f"{API}/orders/5030.json", status=503, json={"message": "down"})
    page = text_of(merchant.get(PAGE, {"orden": "4040"}))
    assert "No encontramos la orden 4040 en tu tienda de Jumpseller: revisa el número." in page
    page = text_of(merchant.get(PAGE, {"orden": "5030"}))
    assert "Jumpseller no respondió: no pudimos leer la orden." in page
    page = text_of(merchant.get(PAGE, {"orden": "12a"}))
    assert "El número de orden es un número entero, por ejemplo 1005." in page
    assert 'value="12a"' in page


@responses.activate
def test_emitir_para_una_orden_follows_the_rules(merchant, store, monkeypatch):
    monkeypatch.setattr("core.queue.publish", lambda name, *args, **kw: None)
    add(merchant, origin="pos", mode="3")  # POS orders: no document at payment, the link instead
    pos = example_order("afecta", id=1010, status_enum="paid", source={"created_from": "pos"})
    responses.get(f"{API}/orders/1010.json", json={"order": pos})
    page = merchant.get("/app/documentos/")
    response = merchant.post(
        "/app/documentos/emitir-orden",
        {"csrfmiddlewaretoken": csrf_token(page), "order_id": "1010"},
        follow=True,
    )
    assert "enviamos al cliente el enlace para emitir su documento" in text_of(response)
