"""The customer's emails say what they carry (issue 15, point 8), end to end against the sandbox.

* The link's deadline (the 10th of the month after the document, dd-mm-aaaa) is in the emails that carry
  the self-service link: mode 2's boleta (its "Quiero factura" link) and the link email of modes 3 and 4.
* A nota de crédito's email does not thank for a purchase: it says it is a nota de crédito, which
  document it corrects (type and folio), its amount and its reason.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from core.formatting import format_clp
from emission.models import Document
from selfservice.services import window_end
from tests import flows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(sandbox, http, settings):
    return flows.installed_store(http, sandbox, settings, "tienda", "Tienda Ñuñoa")


def paid(http, sandbox, order_id: int) -> None:
    flows.create_order(http, sandbox, "tienda", flows.example_order("afecta", id=order_id))
    flows.pay(http, sandbox, "tienda", order_id)


def bodies(message) -> tuple[str, str]:
    return message.body, message.alternatives[0][0]


def deadline_text() -> str:
    """The link's last day for a document of today, as the customer reads it: ``10-01-2027``."""
    return window_end(timezone.localdate()).strftime("%d-%m-%Y")


def test_mode_2_boleta_email_gives_the_factura_link_s_deadline(sandbox, http, shop):
    paid(http, sandbox, 9201)
    [message] = mail.outbox
    text, html = bodies(message)
    assert "/documento/" in text
    assert f"Puedes pedirla hasta el {deadline_text()}." in text
    assert f"Puedes pedirla hasta el <strong>{deadline_text()}</strong>." in html


@pytest.mark.parametrize("mode", [3, 4])
def test_link_email_of_modes_3_and_4_gives_the_deadline(sandbox, http, shop, mode):
    flows.configure(shop, mode=mode)
    paid(http, sandbox, 9202)
    [message] = mail.outbox
    assert "Obtén tu documento tributario" in message.subject
    text, html = bodies(message)
    assert f"El enlace vale hasta el {deadline_text()}." in text
    assert f"El enlace vale hasta el <strong>{deadline_text()}</strong>." in html


def test_nota_de_credito_email_names_what_it_corrects_its_amount_and_reason(sandbox, http, shop):
    paid(http, sandbox, 9203)
    flows.cancel(http, sandbox, "tienda", 9203)
    boleta = Document.objects.get(store=shop, order_id=9203, kind="boleta")
    nota = Document.objects.get(store=shop, order_id=9203, kind="nota_credito")
    boleta_mail, nota_mail = mail.outbox
    assert "Gracias por tu compra" in boleta_mail.body  # the sale's email still thanks
    assert nota_mail.subject == f"[DEMO] Nota de crédito electrónica N° {nota.folio} — Tienda Ñuñoa"
    text, html = bodies(nota_mail)
    assert "Gracias por tu compra" not in text and "Gracias por tu compra" not in html
    assert (
        f"Tienda Ñuñoa emitió una nota de crédito electrónica a tu nombre: la N° {nota.folio}, que corrige "
        f"tu boleta electrónica N° {boleta.folio} de la orden #9203." in text
    )
    assert f"Monto de la nota de crédito: {format_clp(nota.mnt_total)}" in text
    assert nota.mnt_total == 32970
    assert "Motivo: Anula documento: orden anulada" in text
    assert f"tu boleta electrónica <strong>N° {boleta.folio}</strong>" in html
    assert "Motivo: Anula documento: orden anulada" in html
    assert "/documento/" not in text  # no self-service link on a nota


def test_conversion_nota_email_gives_the_conversion_as_its_reason(sandbox, http, shop):
    from tests.selfservice.test_selfservice_pages import TAXPAYER, link, submit

    paid(http, sandbox, 9204)
    done = submit(http, link(shop, 9204), **TAXPAYER)
    assert done.status_code == 200
    [nota_mail] = [m for m in mail.outbox if "Nota de crédito" in m.subject]
    boleta = Document.objects.get(store=shop, order_id=9204, kind="boleta")
    assert f"que corrige tu boleta electrónica N° {boleta.folio}" in nota_mail.body
    assert "Motivo: Anula boleta; se emite factura" in nota_mail.body
    assert "Gracias por tu compra" not in nota_mail.body
