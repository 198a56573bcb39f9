"""The customer's page says what state the order is in and shows what will be issued (issue 15, points 8
and 3), against the sandbox (live server, Celery eager).

* A canceled order, or a document annulled by the store's notas, says so: no form, nothing issued.
* Mode 3 preselects nothing; a POST without a choice is refused in Spanish and issues nothing.
* A factura is issued only from a confirmation step that shows it as it will be issued: a giro longer
  than the SII's 40 characters is shortened at a word boundary there. The confirming POST answers 303
  (POST/redirect/GET) and sending it again issues nothing more.
* The taxpayer lookup tells the page when OpenFactura could not be asked.
* The order's lines are line totals, with shipping, discounts and IVA added on top, adding up to its total.
* The page shows the link's deadline (dd-mm-aaaa) above the form and on the confirmation step.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.utils import timezone

from emission import services as emission_services
from emission.models import Document, DocumentState
from selfservice.models import Conversion
from selfservice.services import window_end
from tests import flows
from tests.selfservice import test_selfservice_pages as pages
from tests.selfservice.test_selfservice_pages import TAXPAYER, link, paid_order, tipos

pytestmark = pytest.mark.django_db(transaction=True)
shop = pages.shop  # the store "tienda" (fixture)


LONG_GIRO = "EMPRESAS DE SERVICIOS INTEGRALES DE INFORMÁTICA"  # the sandbox's giro of 76.430.498-5: 47
SHORT_GIRO = "EMPRESAS DE SERVICIOS INTEGRALES"


def csrf(http, url: str) -> str:
    parser = flows.FormParser()
    parser.feed(http.get(url, timeout=30).text)
    return parser.forms[0]["fields"]["csrfmiddlewaretoken"]


def post(http, url: str, token: str, *, follow: bool = True, **fields):
    data = {"csrfmiddlewaretoken": token, **fields}
    return http.post(url, data=data, headers={"Referer": url}, timeout=60, allow_redirects=follow)


def summary_rows(html: str) -> list[tuple[str, str]]:
    """(label, amount) of each row of the order's table."""
    card = html[html.index("<table>") : html.index("</table>")]
    rows = re.findall(r"<tr[^>]*><td>(.*?)</td><td class=\"num\">(.*?)</td></tr>", card, re.S)
    return [
        (unescape(re.sub(r"<div.*", "", label, flags=re.S)).strip(), unescape(amount))
        for label, amount in rows
    ]


def deadline() -> str:
    return window_end(timezone.localdate()).strftime("%d-%m-%Y")


def test_canceled_order_says_so_instead_of_the_form_and_issues_nothing(sandbox, http, shop):
    paid_order(http, sandbox, 8301)
    url = link(shop, 8301)
    token = csrf(http, url)  # the page as the customer opened it before the store canceled the order
    flows.cancel(http, sandbox, "tienda", 8301)
    assert tipos(http, sandbox) == [39, 61]

    page = http.get(url, timeout=30)
    assert page.status_code == 200
    assert "<h2>Orden anulada</h2>" in page.text
    assert (
        "Esta orden fue anulada: la tienda emitió una nota de crédito que anula tu boleta electrónica."
        in (page.text)
    )
    assert 'id="factura-form"' not in page.text and 'name="rut"' not in page.text
    assert "<button" not in page.text
    assert '<span class="badge">Anulado</span>' in page.text

    sent = post(http, url, token, paso="confirmar", **TAXPAYER)
    assert sent.status_code == 200 and "<h2>Orden anulada</h2>" in sent.text
    assert tipos(http, sandbox) == [39, 61]
    assert not Conversion.objects.exists()


def test_document_credited_in_full_by_the_store_s_notas_says_so(sandbox, http, shop):
    paid_order(http, sandbox, 8302)
    boleta = Document.objects.get(store=shop, order_id=8302)
    nota = emission_services.nota_credito_parcial_create(
        store_id=shop.pk, document_id=boleta.pk, request_key="todo", amount=boleta.mnt_total
    )
    nota.refresh_from_db()
    assert nota.state == DocumentState.EMITTED and nota.mnt_total == boleta.mnt_total

    page = http.get(link(shop, 8302), timeout=30)
    assert page.status_code == 200
    assert "<h2>Documento anulado</h2>" in page.text
    assert "fue anulada por completo con notas de crédito de la tienda" in page.text
    assert f'Boleta electrónica N° {boleta.folio} <span class="badge">Anulado</span>' in page.text
    assert page.text.count("Anulado</span>") == 1  # the boleta, not its nota
    assert 'name="rut"' not in page.text and "<button" not in page.text
    assert http.get(link(shop, 8302) + "contribuyente/", params={"rut": "764304985"}).status_code == 409


def test_mode_3_preselects_nothing_and_a_post_without_a_choice_issues_nothing(sandbox, http, shop):
    flows.configure(shop, mode=3)
    paid_order(http, sandbox, 8303)
    url = link(shop, 8303)
    page = http.get(url, timeout=30)
    radios = re.findall(r'<input type="radio" name="documento"[^>]*>', page.text)
    assert len(radios) == 2 and not any("checked" in radio for radio in radios)

    for step in ("", "confirmar"):
        refused = post(http, url, csrf(http, url), paso=step, **TAXPAYER)
        assert refused.status_code == 422
        assert 'id="error-documento">Elige si quieres boleta o factura.' in refused.text
        assert 'value="HOSTY SPA"' in refused.text  # what was typed stays
    assert tipos(http, sandbox) == []
    assert not Document.objects.filter(store=shop).exists()


def test_factura_is_confirmed_with_its_giro_shortened_then_issued_once(sandbox, http, shop):
    paid_order(http, sandbox, 8304)
    url = link(shop, 8304)
    boleta = Document.objects.get(store=shop, order_id=8304)

    review = post(http, url, csrf(http, url), **{**TAXPAYER, "giro": LONG_GIRO})
    assert review.status_code == 200
    text = unescape(review.text)
    assert "Revisa tu factura antes de emitirla" in text
    assert '<dd id="confirm-documento">Factura electrónica</dd>' in text
    assert '<dd id="confirm-rut">76.430.498-5</dd>' in text
    assert f'<dd id="confirm-giro">{SHORT_GIRO}</dd>' in text
    assert f"acortamos «{LONG_GIRO}» a «{SHORT_GIRO}»" in text
    assert f'<dd id="confirm-total">{"$32.970"}</dd>' in text
    assert "anularemos tu boleta con una nota de crédito" in text
    assert f"Puedes pedir tu documento hasta el <strong>{deadline()}</strong>" in text
    assert tipos(http, sandbox) == [39] and not Conversion.objects.exists()  # nothing issued yet

    form = flows.BrowserForm()
    form.feed(review.text)
    assert form.fields["giro"] == SHORT_GIRO
    token = form.fields.pop("csrfmiddlewaretoken")
    confirmed = post(http, url, token, follow=False, paso="confirmar", **form.fields)
    assert confirmed.status_code == 303
    assert confirmed.headers["Location"] == url.removeprefix(sandbox(""))
    assert tipos(http, sandbox) == [39, 61, 33]
    factura = Conversion.objects.get(store=shop, order_id=8304).factura
    receptor = factura.request_body["dte"]["Encabezado"]["Receptor"]
    assert (receptor["RUTRecep"], receptor["GiroRecep"]) == ("76430498-5", SHORT_GIRO)
    assert factura.mnt_total == boleta.mnt_total

    shown = http.get(url, timeout=30)
    assert f"Factura electrónica N° {factura.folio}" in shown.text and 'name="rut"' not in shown.text
    again = post(http, url, token, follow=False, paso="confirmar", **form.fields)  # a resubmission
    assert again.status_code == 303
    assert tipos(http, sandbox) == [39, 61, 33]


def test_correcting_the_data_goes_back_to_the_form_with_what_was_typed(sandbox, http, shop):
    paid_order(http, sandbox, 8305)
    url = link(shop, 8305)
    back = post(http, url, csrf(http, url), paso="corregir", **{**TAXPAYER, "giro": SHORT_GIRO})
    assert back.status_code == 200
    assert 'id="factura-form"' in back.text and f'value="{SHORT_GIRO}"' in back.text
    assert tipos(http, sandbox) == [39]


def test_lookup_says_when_openfactura_could_not_be_asked(sandbox, http, shop):
    paid_order(http, sandbox, 8306)
    url = link(shop, 8306)
    assert http.get(url + "contribuyente/", params={"rut": "11.111.111-1"}).json() == {"found": False}
    flows.faults(http, sandbox, status=503, error_rate=1, scope="read")
    answer = http.get(url + "contribuyente/", params={"rut": "76.430.498-5"}, timeout=30).json()
    assert answer == {"found": False, "error": "unavailable"}
    page = http.get(url, timeout=30).text
    assert "No encontramos ese RUT en el SII" in page and "completa los datos a mano" in page


def test_page_shows_line_totals_shipping_and_discounts_adding_up_to_the_total(sandbox, http, shop):
    flows.configure(shop, mode=3)
    order = flows.example_order(
        "con_despacho", id=8307, discount=1500, shipping_discount=990, total=54960 - 1000 - 500 - 990
    )
    order["products"][1]["discount"] = 1000
    names = [p["name"] for p in order["products"]]
    flows.create_order(http, sandbox, "tienda", order)
    flows.pay(http, sandbox, "tienda", 8307)
    rows = summary_rows(http.get(link(shop, 8307), timeout=30).text)
    assert rows == [
        (f"1 × {names[0]}", "$39.990"),
        (f"2 × {names[1]}", "$8.980"),
        ("Despacho (Chilexpress)", "$4.990"),
        ("Descuento en el despacho", "-$990"),
        ("Descuento", "-$500"),
        ("Total", "$52.470"),
    ]

    flows.create_order(http, sandbox, "tienda", flows.example_order("iva_adicional", id=8308))
    flows.pay(http, sandbox, "tienda", 8308)
    rows = summary_rows(http.get(link(shop, 8308), timeout=30).text)
    assert [amount for _, amount in rows] == ["$25.000", "$9.980", "$6.646", "$41.626"]
    assert rows[2][0] == "IVA"


def test_page_shows_the_link_s_deadline_above_the_form(sandbox, http, shop):
    paid_order(http, sandbox, 8309)
    page = http.get(link(shop, 8309), timeout=30).text
    form = page[page.index('id="factura-form"') :]
    assert (
        f'<p class="deadline">Puedes pedir tu documento hasta el <strong>{deadline()}</strong>.</p>' in form
    )
    assert form.index('class="deadline"') < form.index('name="rut"')
