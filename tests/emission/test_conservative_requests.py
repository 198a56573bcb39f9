"""Conservative where the real services are ambiguous (issue 14, points 1–4).

1. A boleta's nota de crédito names the consumidor final with all five receptor fields (dte-semantics.md
   § Nota de crédito), and the strict fake OpenFactura accepts it.
2. ``document_type`` goes to Jumpseller as the documented string; a Jumpseller that takes only integers
   answers 422 once, and the store remembers the form.
3. A rejection that created nothing moves the document to its next Idempotency-Key revision, so the
   merchant's "Reintentar" is not stuck on OF-06 when OpenFactura keeps rejected keys; a timeout or a 5xx
   keeps the key.
4. OF-06 with the token only at the top, only in ``details``, or in both: the original is recovered.

End-to-end tests run the product against its sandbox over real sockets (Celery eager).
"""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal

import pytest

from emission import services
from emission.dte import (
    StoreDteSettings,
    build_document,
    build_nota_credito_anula,
    build_nota_credito_parcial,
)
from emission.models import Document, DocumentState, EmissionSettings
from integration.client import JumpsellerClient, JumpsellerError
from sandbox.openfactura.models import IdempotencyClaim
from tests import flows
from tests.conftest import REPO_ROOT

SETTINGS = StoreDteSettings.demo()  # emisor HAULMER CHILE SPA, CmnaOrigen "Curicó"
TODAY = date(2026, 11, 29)
ORDER = json.loads((REPO_ROOT / "tests/fixtures/jumpseller/order_paid__boleta_afecta.json").read_text())
CODE = "prudente"


def boleta_body(order: dict = ORDER) -> dict:
    return build_document(order, document="boleta", settings=SETTINGS, today=TODAY).body


def anula(body: dict, **kwargs):
    return build_nota_credito_anula(
        body,
        original_tipo=39,
        original_folio=1001,
        original_fecha=TODAY,
        settings=SETTINGS,
        today=TODAY,
        **kwargs,
    )


def receptor_of(built) -> dict:
    return built.body["dte"]["Encabezado"]["Receptor"]


# --- 1. the receptor of a boleta's nota de crédito -------------------------------------------------


def test_a_boleta_nota_names_the_consumidor_final_with_the_buyers_address():
    body = boleta_body()
    assert body["dte"]["Encabezado"]["Receptor"] == {"RUTRecep": "66666666-6"}
    receptor = receptor_of(anula(body, order=ORDER))
    assert receptor == {
        "RUTRecep": "66666666-6",
        "RznSocRecep": "Consumidor final",
        "GiroRecep": "Particular",
        "DirRecep": "Av. Apoquindo 4500",
        "CmnaRecep": "Las Condes",
    }
    assert list(receptor) == [
        "RUTRecep",
        "RznSocRecep",
        "GiroRecep",
        "DirRecep",
        "CmnaRecep",
    ]  # DTE_v10 order
    # The bare order object (what the services hold) reads the same.
    assert receptor_of(anula(body, order=ORDER["order"])) == receptor


def test_without_the_buyers_address_sin_direccion_and_the_emisors_comuna():
    expected = {
        "RUTRecep": "66666666-6",
        "RznSocRecep": "Consumidor final",
        "GiroRecep": "Particular",
        "DirRecep": "Sin dirección",
        "CmnaRecep": "Curicó",  # the emisor's CmnaOrigen
    }
    body = boleta_body()
    assert receptor_of(anula(body)) == expected
    stub = {
        "id": 1001,
        "created_at": "",
        "customer": {"email": "a@b.cl", "fullname": "Ana"},
    }  # merchant action
    assert receptor_of(anula(body, order=stub)) == expected
    nota = build_nota_credito_parcial(
        body,
        original_tipo=39,
        original_folio=1001,
        original_fecha=TODAY,
        settings=SETTINGS,
        today=TODAY,
        amount=5000,
        razon="Devolución parcial",
        order=stub,
    )
    assert receptor_of(nota) == expected
    only_comuna = copy.deepcopy(ORDER)
    only_comuna["order"]["billing_address"]["address"] = None
    only_comuna["order"]["billing_address"]["street_number"] = None
    assert receptor_of(anula(body, order=only_comuna))["DirRecep"] == "Sin dirección"
    assert receptor_of(anula(body, order=only_comuna))["CmnaRecep"] == "Las Condes"


def test_the_partial_nota_of_a_boleta_takes_the_same_receptor_and_lengths_are_cut():
    long = copy.deepcopy(ORDER)
    long["order"]["billing_address"]["address"] = "Avenida Libertador General Bernardo O'Higgins " * 2
    long["order"]["billing_address"]["municipality"] = "Pedro Aguirre Cerda Poniente"
    nota = build_nota_credito_parcial(
        boleta_body(),
        original_tipo=39,
        original_folio=1001,
        original_fecha=TODAY,
        settings=SETTINGS,
        today=TODAY,
        lines=[(1, Decimal(1))],
        razon="Devolución",
        order=long,
    )
    receptor = receptor_of(nota)
    assert len(receptor["DirRecep"]) <= 70 and receptor["DirRecep"].startswith("Avenida Libertador")
    assert receptor["CmnaRecep"] == "Pedro Aguirre Cerda"  # cut to 20
    assert (receptor["RznSocRecep"], receptor["GiroRecep"]) == ("Consumidor final", "Particular")


def test_a_named_boleta_buyer_keeps_the_buyer_and_gets_the_missing_fields():
    body = boleta_body()
    body["dte"]["Encabezado"]["Receptor"] = {  # a boleta over 135 UF names its buyer (no giro in a boleta)
        "RUTRecep": "76430498-5",
        "CdgIntRecep": "76430498-5",
        "RznSocRecep": "HOSTY SPA",
        "DirRecep": "Prat 527",
        "CmnaRecep": "Curicó",
    }
    assert receptor_of(anula(body, order=ORDER)) == {
        "RUTRecep": "76430498-5",
        "CdgIntRecep": "76430498-5",
        "RznSocRecep": "HOSTY SPA",
        "GiroRecep": "Particular",
        "DirRecep": "Prat 527",
        "CmnaRecep": "Curicó",
    }


def test_a_facturas_nota_copies_the_facturas_receptor():
    factura = build_document(
        json.loads((REPO_ROOT / "tests/fixtures/jumpseller/order_paid__empresa.json").read_text()),
        document="factura",
        settings=SETTINGS,
        today=TODAY,
    )
    nota = build_nota_credito_anula(
        factura.body,
        original_tipo=factura.tipo,
        original_folio=101,
        original_fecha=TODAY,
        settings=SETTINGS,
        today=TODAY,
        order=ORDER,  # another buyer's address never leaks into a factura's nota
    )
    assert receptor_of(nota) == factura.body["dte"]["Encabezado"]["Receptor"]


# --- end to end against the sandbox ----------------------------------------------------------------


@pytest.fixture
def shop(sandbox, http, settings):
    """A store in production mode on its own sandbox company: attachments and emails are not demo-gated."""
    return flows.live_store(http, sandbox, settings, CODE, "Tienda Prudente")


def paid(http, sandbox, shop, order_id: int) -> Document:
    return flows.paid_boleta(http, sandbox, shop, order_id)


@pytest.fixture
def attachments(monkeypatch) -> list[tuple[object, int]]:
    """``(document_type sent, HTTP status)`` of each ``POST /orders/{id}/documents.json`` the product made."""
    sent: list[tuple[object, int]] = []
    original = JumpsellerClient._send_once

    def spy(self, method, path, params, json):
        if not (method == "POST" and path.endswith("/documents.json")):
            return original(self, method, path, params, json)
        try:
            result = original(self, method, path, params, json)
        except JumpsellerError as exc:
            sent.append((json["document"]["document_type"], exc.status))
            raise
        sent.append((json["document"]["document_type"], 200))
        return result

    monkeypatch.setattr(JumpsellerClient, "_send_once", spy)
    return sent


@pytest.mark.django_db(transaction=True)
def test_a_canceled_boletas_nota_is_accepted_by_the_strict_fake(sandbox, http, shop):
    boleta = paid(http, sandbox, shop, 9501)
    flows.cancel(http, sandbox, CODE, 9501)
    nota = Document.objects.get(store=shop, order_id=9501, kind="nota_credito")
    assert (nota.state, nota.tipo, nota.mnt_total) == (DocumentState.EMITTED, 61, boleta.mnt_total)
    assert nota.request_body["dte"]["Encabezado"]["Receptor"] == {
        "RUTRecep": "66666666-6",
        "RznSocRecep": "Consumidor final",
        "GiroRecep": "Particular",
        "DirRecep": "Av. Providencia 1234",  # the example order's billing address
        "CmnaRecep": "Providencia",
    }
    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [39, 61]


@pytest.mark.django_db(transaction=True)
def test_document_type_goes_as_the_documented_string(sandbox, http, shop, attachments):
    paid(http, sandbox, shop, 9511)
    flows.cancel(http, sandbox, CODE, 9511)
    assert attachments == [("1 - invoice", 200), ("0 - credit note", 200)]
    assert EmissionSettings.objects.get(store=shop).jumpseller_document_type_form == "string"
    attached = flows.jumpseller_documents(http, sandbox, CODE, 9511)
    assert sorted(d["document_type"] for d in attached) == [0, 1]
    assert Document.objects.filter(store=shop, attached_at__isnull=False).count() == 2


@pytest.fixture
def jumpseller_calls(monkeypatch) -> list[tuple[str, str]]:
    """``(method, path)`` of every Jumpseller API call the product made."""
    calls: list[tuple[str, str]] = []
    original = JumpsellerClient._send_once

    def spy(self, method, path, params, json):
        calls.append((method, path))
        return original(self, method, path, params, json)

    monkeypatch.setattr(JumpsellerClient, "_send_once", spy)
    return calls


@pytest.mark.django_db(transaction=True)
def test_the_first_delivery_attaches_without_listing_and_a_later_one_never_attaches_twice(
    sandbox, http, shop, jumpseller_calls
):
    boleta = paid(http, sandbox, shop, 9531)
    # Re-read of the order, then the attachment and its history note: no listing of the order's documents.
    assert [m for m, p in jumpseller_calls if "/orders/9531" in p] == ["GET", "POST", "POST"]

    # A delivery that died after Jumpseller took the document, before recording it: the next one lists
    # the order's documents, finds it and attaches nothing more.
    Document.objects.filter(pk=boleta.pk).update(attached_at=None)
    jumpseller_calls.clear()
    services.document_deliver(store_id=shop.pk, document_id=boleta.pk)
    assert jumpseller_calls == [("GET", "/orders/9531/documents.json")]
    assert len(flows.jumpseller_documents(http, sandbox, CODE, 9531)) == 1
    boleta.refresh_from_db()
    assert boleta.attached_at is not None and boleta.deliver_attempts == 2


@pytest.mark.django_db(transaction=True)
def test_a_jumpseller_that_takes_integers_gets_one_422_then_integers(
    sandbox, http, shop, settings, attachments
):
    settings.SANDBOX_JUMPSELLER_DOCUMENT_TYPE_FORM = "integer"
    first = paid(http, sandbox, shop, 9521)
    assert attachments == [("1 - invoice", 422), (1, 200)]
    assert EmissionSettings.objects.get(store=shop).jumpseller_document_type_form == "integer"
    first.refresh_from_db()
    assert first.attached_at is not None and first.attach_error == ""

    attachments.clear()
    paid(http, sandbox, shop, 9522)
    assert attachments == [(1, 200)]  # straight to the form the store took
    for order_id in (9521, 9522):
        [attached] = flows.jumpseller_documents(http, sandbox, CODE, order_id)
        assert attached["document_type"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_body_the_fake_refuses_then_reintentar_emits_once_with_the_next_key(sandbox, http, shop):
    flows.faults(http, sandbox, reject_consumes_key=True)
    services.queue_pause(store_id=shop.pk, reason="prueba")
    flows.create_order(http, sandbox, CODE, flows.example_order("afecta", id=9531))
    flows.pay(http, sandbox, CODE, 9531)  # built, waiting in the paused queue
    document = Document.objects.get(store=shop, order_id=9531)
    original_key = document.idempotency_key
    assert (document.state, document.key_revision) == (DocumentState.PENDING, 0)
    broken = document.request_body
    broken["dte"]["Encabezado"]["Totales"]["IVA"] += 1  # a body OpenFactura refuses (OF-10)
    Document.objects.filter(pk=document.pk).update(request_json=json.dumps(broken, ensure_ascii=False))

    services.queue_resume(store_id=shop.pk)
    document.refresh_from_db()
    assert (document.state, document.error_code) == (DocumentState.REQUIRES_REVIEW, "OF-10")
    assert (document.key_revision, document.idempotency_key) == (1, f"{original_key}:r1")
    assert IdempotencyClaim.objects.get(key=original_key).rejected  # OpenFactura kept the rejected key
    assert flows.openfactura_documents(http, sandbox) == []

    services.document_retry(store_id=shop.pk, document_id=document.pk)  # rebuilt from the order: fixed
    document.refresh_from_db()
    assert document.state == DocumentState.EMITTED
    [sent] = flows.openfactura_documents(http, sandbox)
    assert (sent["idempotency_key"], sent["token"]) == (f"{original_key}:r1", document.token)
    assert [a.outcome for a in document.emission_attempts.all()] == ["rejected", "emitted"]

    services.document_retry(store_id=shop.pk, document_id=document.pk)  # a second press changes nothing
    assert len(flows.openfactura_documents(http, sandbox)) == 1


@pytest.mark.django_db(transaction=True)
def test_an_injected_rejection_then_reintentar_uses_the_next_key(sandbox, http, shop):
    flows.faults(http, sandbox, status="OF-10", count=1, scope="emit", reject_consumes_key=True)
    document = paid(http, sandbox, shop, 9532)
    original_key = document.idempotency_key.removesuffix(":r1")
    assert (document.state, document.key_revision) == (DocumentState.REQUIRES_REVIEW, 1)
    services.document_retry(store_id=shop.pk, document_id=document.pk)
    document.refresh_from_db()
    assert (document.state, document.idempotency_key) == (DocumentState.EMITTED, f"{original_key}:r1")
    assert [d["idempotency_key"] for d in flows.openfactura_documents(http, sandbox)] == [
        f"{original_key}:r1"
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("failure", [{"status": 503}, {"timeout": True, "timeout_seconds": 2}])
def test_a_5xx_or_a_timeout_keeps_the_key(sandbox, http, shop, settings, failure):
    settings.OPENFACTURA_TIMEOUT = (2.0, 1.0)
    flows.faults(http, sandbox, count=1, scope="emit", reject_consumes_key=True, **failure)
    document = paid(http, sandbox, shop, 9541)
    key = document.idempotency_key
    assert (document.state, document.key_revision) == (DocumentState.FAILED_RETRYING, 0)
    assert key.endswith(":venta")

    services.document_send(store_id=shop.pk, document_id=document.pk)
    document.refresh_from_db()
    assert (document.state, document.idempotency_key, document.key_revision) == (
        DocumentState.EMITTED,
        key,
        0,
    )
    assert [d["idempotency_key"] for d in flows.openfactura_documents(http, sandbox)] == [key]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("location", ["top", "details", "both"])
def test_of06_recovers_the_original_wherever_the_token_is(sandbox, http, shop, settings, location):
    settings.OPENFACTURA_TIMEOUT = (2.0, 1.0)
    flows.faults(
        http, sandbox, timeout_after_emit=True, timeout_seconds=2, scope="emit", of06_token_in=location
    )
    document = paid(http, sandbox, shop, 9551)
    assert document.state == DocumentState.FAILED_RETRYING  # OpenFactura emitted it; the answer was lost
    [emitted] = flows.openfactura_documents(http, sandbox)

    flows.faults(http, sandbox, of06_token_in=location)
    services.document_send(store_id=shop.pk, document_id=document.pk)
    document.refresh_from_db()
    assert (document.state, document.token, document.folio) == (
        DocumentState.EMITTED,
        emitted["token"],
        emitted["folio"],
    )
    assert document.emission_attempts.last().outcome == "duplicate"
    assert len(flows.openfactura_documents(http, sandbox)) == 1  # no second document


def test_key_revisions_are_deterministic():
    base = services.idempotency_key_for(
        store_code="tienda", order_id=1001, order_created_at="2026-11-28 13:56:35 UTC", purpose="venta"
    )
    assert base == "js:tienda:1001:20261128135635:venta"
    assert [
        services.idempotency_key_for(
            store_code="tienda",
            order_id=1001,
            order_created_at="2026-11-28 13:56:35 UTC",
            purpose="venta",
            revision=n,
        )
        for n in (0, 1, 2, 2)
    ] == [base, f"{base}:r1", f"{base}:r2", f"{base}:r2"]
