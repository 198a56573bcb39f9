"""Emission rules end to end against the sandbox (issue 17 §1): the merchant adds the issue's example on
the rules page — "categoría Mayoristas → factura directa; POS → modo 1; everyone else → the store's
mode 2" — and three paid orders take the three paths, each document recording the rule that chose it;
the customer's category is read from the fake Jumpseller once per customer (cache)."""

from __future__ import annotations

import re
from html import unescape

import pytest

from emission.models import CustomerNotice, Document, DocumentState
from tests import flows

pytestmark = pytest.mark.django_db(transaction=True)

RULES = "/app/configuracion/reglas/"
SCOPES_WITHOUT_CUSTOMERS = "read_store read_orders write_orders read_hooks write_hooks"
SCOPES_WITH_CUSTOMERS = f"{SCOPES_WITHOUT_CUSTOMERS} read_customers"


def add_rule(http, sandbox, **fields) -> None:
    """Submit "Agregar regla" on the rules page as the merchant's browser does."""
    page = http.get(sandbox(RULES), timeout=10)
    parser = flows.FormParser()
    parser.feed(page.text)
    [form] = [
        form for form in parser.forms if form["action"] == RULES and "csrfmiddlewaretoken" in form["fields"]
    ]
    data = {**form["fields"], "mode": "1", **fields}
    response = http.post(sandbox(RULES), data=data, headers={"Referer": page.url}, timeout=10)
    assert response.status_code == 200 and "Regla agregada" in unescape(response.text), response.text[:500]


def create_customer(http, sandbox, code: str, customer: dict) -> None:
    response = http.post(
        sandbox(f"/sandbox/jumpseller/stores/{code}/customers"), json={"customer": customer}, timeout=10
    )
    assert response.status_code == 201, response.text


def detail_rule(http, sandbox, document: Document) -> str:
    page = http.get(sandbox(f"/app/documentos/{document.pk}/"), timeout=10).text
    return unescape(re.search(r'<dd id="regla-aplicada">(.*?)</dd>', page, re.S).group(1))


@pytest.fixture
def customer_reads(monkeypatch) -> list[int]:
    """Every ``GET /customers/{id}.json`` the product sends (Celery is eager: same process)."""
    from integration.client import JumpsellerClient

    calls: list[int] = []
    original = JumpsellerClient.get_customer

    def counting(self, customer_id):
        calls.append(int(customer_id))
        return original(self, customer_id)

    monkeypatch.setattr(JumpsellerClient, "get_customer", counting)
    return calls


def test_the_issue_example_end_to_end(sandbox, http, settings, customer_reads):
    settings.JUMPSELLER_SCOPES = SCOPES_WITH_CUSTOMERS
    store = flows.installed_store(http, sandbox, settings, "reglas", "Tienda Reglas")  # mode 2, demo
    create_customer(
        http,
        sandbox,
        "reglas",
        {"id": 505, "email": "compras@losandes.example.cl", "customer_categories": ["Mayoristas"]},
    )
    create_customer(
        http,
        sandbox,
        "reglas",
        {"id": 501, "email": "camila.rojas@example.cl", "customer_categories": ["VIP"]},
    )
    add_rule(http, sandbox, name="Mayoristas", customer_category="Mayoristas", mode="2", factura_directa="on")
    add_rule(http, sandbox, origin="pos", mode="1")

    wholesale = flows.example_order("empresa", id=8101)  # customer 505, company RUT, checkout
    pos = flows.example_order("afecta", id=8102, source={"created_from": "pos"})  # customer 501
    web = flows.example_order("afecta", id=8103)  # customer 501, checkout
    for order in (wholesale, pos, web):
        flows.create_order(http, sandbox, "reglas", order)
        flows.pay(http, sandbox, "reglas", order["id"])

    documents = {doc.order_id: doc for doc in Document.objects.filter(store=store)}
    assert {order_id: doc.state for order_id, doc in documents.items()} == dict.fromkeys(
        (8101, 8102, 8103), DocumentState.EMITTED
    )
    factura, boleta_pos, boleta_web = documents[8101], documents[8102], documents[8103]
    assert (factura.kind, factura.tipo, factura.emission_mode) == ("factura", 33, 2)
    assert factura.rule_label == (
        "Regla 1 «Mayoristas» — Si la categoría del cliente es «Mayoristas» → Modo 2, factura directa"
    )
    assert (boleta_pos.kind, boleta_pos.tipo, boleta_pos.emission_mode) == ("boleta", 39, 1)
    assert boleta_pos.rule_label == "Regla 2 — Si el origen es Punto de venta (POS) → Modo 1"
    assert (boleta_web.kind, boleta_web.tipo, boleta_web.emission_mode) == ("boleta", 39, 2)
    assert boleta_web.rule_label == "Modo de la tienda"
    assert [doc.rule_note for doc in (factura, boleta_pos, boleta_web)] == ["", "", ""]

    # The detail page shows it.
    assert detail_rule(http, sandbox, factura).startswith("Regla 1 «Mayoristas»")
    assert detail_rule(http, sandbox, boleta_pos) == "Regla 2 — Si el origen es Punto de venta (POS) → Modo 1"
    assert detail_rule(http, sandbox, boleta_web) == "Modo de la tienda"

    # Mode 2: the web order's email carries the self-service link to change the boleta for a factura.
    [web_mail] = [
        m
        for m in flows.mails(http, sandbox)
        if f"N° {boleta_web.folio} " in m["subject"] and "Boleta" in m["subject"]
    ]
    assert any("/documento/" in link for link in web_mail["links"])
    # Mode 1 (the POS rule): a boleta without the link, whatever the store's own mode.
    [pos_mail] = [
        m
        for m in flows.mails(http, sandbox)
        if f"N° {boleta_pos.folio} " in m["subject"] and "Boleta" in m["subject"]
    ]
    assert not any("/documento/" in link for link in pos_mail["links"])

    # Every order needed the category (rule 1 asks for it): read once per customer, the second order of
    # customer 501 from the cache.
    assert customer_reads == [505, 501]


def test_without_the_customers_permission_the_category_rule_is_skipped_and_why_is_recorded(
    sandbox, http, settings, customer_reads
):
    settings.JUMPSELLER_SCOPES = SCOPES_WITHOUT_CUSTOMERS  # a store installed before read_customers was asked
    store = flows.installed_store(http, sandbox, settings, "sinpermiso", "Tienda Sin Permiso")
    create_customer(http, sandbox, "sinpermiso", {"id": 505, "customer_categories": ["Mayoristas"]})
    add_rule(http, sandbox, name="Mayoristas", customer_category="Mayoristas", mode="2", factura_directa="on")
    flows.create_order(http, sandbox, "sinpermiso", flows.example_order("empresa", id=8201))
    flows.pay(http, sandbox, "sinpermiso", 8201)

    [document] = Document.objects.filter(store=store, order_id=8201)
    assert (document.state, document.kind, document.rule_label) == (
        DocumentState.EMITTED,
        "boleta",
        "Modo de la tienda",
    )
    assert document.rule_note.startswith(
        "Regla 1 no aplicada: Jumpseller no dio permiso para leer los clientes"
    )
    assert "Regla 1 no aplicada" in detail_rule(http, sandbox, document)
    assert customer_reads == [505]


def test_a_rule_choosing_a_link_mode_is_followed_by_the_customers_page(sandbox, http, settings):
    """A store in mode 1 whose POS orders go by mode 3: the payment sends the link (no document), the
    link's page offers boleta or factura (the order's mode, not the store's) and issues what is chosen; a
    web order of the same store still gets its boleta on payment and its page offers nothing more."""
    from tests.selfservice.test_selfservice_pages import TAXPAYER, link, submit

    store = flows.installed_store(http, sandbox, settings, "reglas3", "Tienda Reglas 3")
    flows.configure(store, mode=1)
    add_rule(http, sandbox, origin="pos", mode="3")
    pos = flows.example_order("afecta", id=8301, source={"created_from": "pos"})
    web = flows.example_order("afecta", id=8302)
    for order in (pos, web):
        flows.create_order(http, sandbox, "reglas3", order)
        flows.pay(http, sandbox, "reglas3", order["id"])

    assert not Document.objects.filter(store=store, order_id=8301).exists()  # mode 3: nothing on payment
    [notice] = CustomerNotice.objects.filter(store=store, order_id=8301)
    assert (notice.emission_mode, notice.rule_label) == (
        3,
        "Regla 1 — Si el origen es Punto de venta (POS) → Modo 3",
    )
    page = http.get(link(store, 8301), timeout=30)
    assert 'name="documento" value="factura"' in page.text  # the order's mode 3, in a mode-1 store
    done = submit(http, link(store, 8301), documento="factura", **TAXPAYER)
    assert done.status_code == 200 and "Factura electrónica N°" in done.text
    factura = Document.objects.get(store=store, order_id=8301)
    assert (factura.tipo, factura.state) == (33, DocumentState.EMITTED)
    assert (factura.emission_mode, factura.rule_label) == (3, notice.rule_label)  # recorded on the document

    boleta = Document.objects.get(store=store, order_id=8302)
    assert (boleta.tipo, boleta.emission_mode) == (39, 1)
    web_page = http.get(link(store, 8302), timeout=30)
    assert 'name="rut"' not in web_page.text and 'name="documento"' not in web_page.text
