"""The customer's self-service page end to end against the sandbox (live server, Celery eager).

Mode 2: boleta on payment, "Quiero factura" → one nota de crédito annulling it, then one factura.
Modes 3/4: nothing on payment; the link issues the order's one document. Failure pages (404/410),
validation next to the fields, double submits and a factura that fails after its nota.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.core import signing
from django.utils import timezone

from emission import services as emission_services
from emission.models import Document, DocumentState
from integration.models import Store
from selfservice import services
from selfservice.models import Conversion
from tests import flows

pytestmark = pytest.mark.django_db(transaction=True)

TAXPAYER = {  # sandbox/openfactura/fixtures/taxpayers.json
    "rut": "76.430.498-5",
    "razon_social": "HOSTY SPA",
    "giro": "EMPRESAS DE SERVICIOS INTEGRALES DE INF",
    "direccion": "ARTURO PRAT 527 3 pis OF 1",
    "comuna": "Curicó",
    "email": "compras@hosty.cl",
}


@pytest.fixture
def shop(sandbox, http, settings):
    store = flows.installed_store(http, sandbox, settings, "tienda", "Tienda Ñuñoa")
    flows.configure(store, demo_attach_documents=True)  # demo documents attached too (off by default)
    return store


def paid_order(http, sandbox, order_id: int, name: str = "afecta") -> dict:
    order = flows.create_order(http, sandbox, "tienda", flows.example_order(name, id=order_id))
    flows.pay(http, sandbox, "tienda", order_id)
    return order


def link(store: Store, order_id: int) -> str:
    return emission_services.selfservice_url_for(store_id=store.pk, order_id=order_id)


def submit(http, url: str, **fields):
    """GET the page (CSRF cookie and token), then POST its form like a browser without JS, as confirmed
    on the confirmation step (``paso=confirmar``; issue 15 point 8)."""
    page = http.get(url, timeout=30)
    parser = flows.FormParser()
    parser.feed(page.text)
    token = parser.forms[0]["fields"]["csrfmiddlewaretoken"]
    data = {"csrfmiddlewaretoken": token, "paso": "confirmar", **fields}
    return http.post(url, data=data, headers={"Referer": url}, timeout=60)


def fail_next_emit() -> None:
    """``flows.faults(status=503, error_rate=1, scope="emit", count=1)``, set from inside the request."""
    from sandbox.openfactura.services import faults_set

    faults_set(data={"status": 503, "error_rate": 1, "scope": "emit", "count": 1})


def tipos(http, sandbox) -> list[int]:
    return [d["tipo"] for d in flows.openfactura_documents(http, sandbox)]


def test_mode_2_page_shows_the_boleta_and_converts_it_into_a_factura(sandbox, http, shop):
    order = paid_order(http, sandbox, 8001)
    boleta = Document.objects.get(store=shop, order_id=8001)
    url = link(shop, 8001)
    page = http.get(url, timeout=30)
    assert page.status_code == 200
    assert page.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in page.text
    assert "Tienda Ñuñoa" in page.text and "Orden #8001" in page.text
    assert "Quiero factura" in page.text and f"Boleta electrónica N° {boleta.folio}" in page.text
    assert "hasta el" in page.text and "día 10 del mes siguiente" in page.text
    for name in ("rut", "razon_social", "giro", "direccion", "comuna", "email"):
        assert f'name="{name}"' in page.text

    done = submit(http, url, **TAXPAYER)
    assert done.status_code == 200, done.text
    assert tipos(http, sandbox) == [39, 61, 33]
    conversion = Conversion.objects.get(store=shop, order_id=8001)
    assert conversion.state == "done"
    nota, factura = conversion.nota, conversion.factura
    assert nota.annuls_id == boleta.pk and nota.state == DocumentState.EMITTED and nota.tipo == 61
    assert factura.state == DocumentState.EMITTED and factura.tipo == 33
    assert factura.mnt_total == order["total"]
    receptor = factura.request_body["dte"]["Encabezado"]["Receptor"]
    assert (receptor["RUTRecep"], receptor["RznSocRecep"]) == ("76430498-5", "HOSTY SPA")
    assert factura.customer_email == "compras@hosty.cl"
    assert 'name="rut"' not in done.text and "Descargar PDF" in done.text and "Anulado" in done.text
    assert f"Factura electrónica N° {factura.folio}" in done.text
    # Emailed and attached through the pipeline.
    # Demo: to the store's address (with the boleta's and the nota's), not to compras@hosty.cl.
    mails = flows.mails(http, sandbox, to=shop.email)
    [mail] = [m for m in mails if m["subject"].startswith("[DEMO] Factura")]
    assert mail["attachments"] == [f"33-{factura.folio}.pdf"]
    attached = {d["public_id"] for d in flows.jumpseller_documents(http, sandbox, "tienda", 8001)}
    assert attached == {f"39-{boleta.folio}", f"61-{nota.folio}", f"33-{factura.folio}"}

    # Reload and resubmit: the result, nothing new.
    again = http.post(url, data=TAXPAYER, timeout=30)
    assert again.status_code in (200, 403)
    assert http.get(url, timeout=30).status_code == 200
    assert tipos(http, sandbox) == [39, 61, 33]


def test_validation_errors_are_shown_next_to_their_field_and_nothing_is_emitted(sandbox, http, shop):
    paid_order(http, sandbox, 8002)
    url = link(shop, 8002)
    response = submit(http, url, **{**TAXPAYER, "rut": "76.430.498-4", "giro": ""})
    assert response.status_code == 422
    assert 'id="error-rut">El RUT no es válido: revisa el dígito verificador.' in response.text
    assert 'id="error-giro">Este campo es obligatorio.' in response.text
    assert 'value="HOSTY SPA"' in response.text  # what was typed stays
    assert tipos(http, sandbox) == [39]
    assert not Conversion.objects.exists()


def test_two_concurrent_submits_make_one_nota_and_one_factura(sandbox, http, shop):
    paid_order(http, sandbox, 8003)
    url = link(shop, 8003)
    results = []

    def post():
        import requests

        with requests.Session() as session:
            results.append(submit(session, url, **TAXPAYER).status_code)

    threads = [threading.Thread(target=post) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(status == 200 for status in results), results
    assert sorted(tipos(http, sandbox)) == [33, 39, 61]
    assert Conversion.objects.count() == 1
    assert Document.objects.filter(store=shop, order_id=8003, kind="nota_credito").count() == 1
    assert Document.objects.filter(store=shop, order_id=8003, kind="factura").count() == 1


def test_factura_failing_after_the_nota_is_recorded_and_retried_without_a_second_nota(
    sandbox, http, shop, monkeypatch
):
    paid_order(http, sandbox, 8004)
    real_build = services.document_build

    def build_then_fail(**kwargs):  # the nota went out; OpenFactura fails for the factura's POST
        fail_next_emit()
        return real_build(**kwargs)

    monkeypatch.setattr(services, "document_build", build_then_fail)
    url = link(shop, 8004)
    first = submit(http, url, **TAXPAYER)
    assert first.status_code == 200
    conversion = Conversion.objects.get(store=shop, order_id=8004)
    assert conversion.state == "factura_pending"
    assert conversion.nota.state == DocumentState.EMITTED
    assert conversion.factura.state == DocumentState.FAILED_RETRYING
    assert "reintentará" in conversion.last_error
    assert tipos(http, sandbox) == [39, 61]
    assert "Estamos emitiendo tu factura" in first.text and 'name="rut"' not in first.text

    monkeypatch.setattr(services, "document_build", real_build)
    reload = http.get(url, timeout=30)  # every visit retries; so do the sweeps
    assert reload.status_code == 200
    conversion.refresh_from_db()
    assert conversion.state == "done" and conversion.factura.state == DocumentState.EMITTED
    assert tipos(http, sandbox) == [39, 61, 33]
    assert Document.objects.filter(store=shop, order_id=8004, kind="nota_credito").count() == 1


def test_mode_3_customer_chooses_boleta_or_factura(sandbox, http, shop):
    flows.configure(shop, mode=3)
    paid_order(http, sandbox, 8005)
    paid_order(http, sandbox, 8006)
    assert tipos(http, sandbox) == []
    page = http.get(link(shop, 8005), timeout=30)
    assert 'name="documento" value="boleta"' in page.text and 'name="documento" value="factura"' in page.text

    boleta = submit(http, link(shop, 8005), documento="boleta")
    assert boleta.status_code == 200 and "Boleta electrónica N°" in boleta.text
    factura = submit(http, link(shop, 8006), documento="factura", **TAXPAYER)
    assert factura.status_code == 200 and "Factura electrónica N°" in factura.text
    assert tipos(http, sandbox) == [39, 33]
    # The other tab asks for a factura on the order that already has its boleta: still one document.
    http.post(link(shop, 8005), data={"documento": "factura", **TAXPAYER}, timeout=30)
    assert tipos(http, sandbox) == [39, 33]
    assert Document.objects.filter(store=shop, order_id=8005).count() == 1


def test_mode_4_issues_only_a_boleta(sandbox, http, shop):
    flows.configure(shop, mode=4)
    paid_order(http, sandbox, 8007)
    page = http.get(link(shop, 8007), timeout=30)
    assert 'name="rut"' not in page.text and "Emitir mi boleta" in page.text
    done = submit(http, link(shop, 8007), documento="factura", **TAXPAYER)
    assert done.status_code == 200 and "Boleta electrónica N°" in done.text
    assert tipos(http, sandbox) == [39]


def test_tampered_and_foreign_links_are_404_and_issue_nothing(sandbox, http, shop):
    paid_order(http, sandbox, 8008)
    url = link(shop, 8008)
    tampered = url[:-6] + ("A" if url[-6] != "A" else "B") + url[-5:]
    forged = signing.dumps({"s": shop.pk, "o": 8008}, salt="another-salt", compress=True)
    import requests

    with requests.Session() as merchant:  # another merchant's browser
        flows.install(merchant, sandbox, "otra", "Otra tienda")
    other = Store.objects.get(code="otra")
    for bad in (tampered, f"{sandbox('/documento/')}{forged}/", link(other, 8008), link(shop, 999999)):
        response = http.get(bad, timeout=30)
        assert response.status_code == 404, bad
        assert "Enlace no válido" in response.text and response.headers["X-Robots-Tag"].startswith("noindex")
        assert http.post(bad, data=TAXPAYER, timeout=30).status_code in (403, 404)
    assert tipos(http, sandbox) == [39]


def test_expired_link_is_410_and_issues_nothing(sandbox, http, shop):
    paid_order(http, sandbox, 8009)
    boleta = Document.objects.get(store=shop, order_id=8009)
    Document.objects.filter(pk=boleta.pk).update(fecha_emision=timezone.localdate() - timedelta(days=70))
    response = http.get(link(shop, 8009), timeout=30)
    assert response.status_code == 410 and "Enlace vencido" in response.text
    assert http.post(link(shop, 8009), data=TAXPAYER, timeout=30).status_code in (403, 410)
    assert tipos(http, sandbox) == [39]


def test_window_ends_on_the_10th_of_the_next_month():
    assert services.window_end(date(2026, 1, 31)) == date(2026, 2, 10)
    assert services.window_end(date(2026, 12, 1)) == date(2027, 1, 10)


def test_taxpayer_lookup_prefills_known_ruts_and_leaves_unknown_empty(sandbox, http, shop):
    paid_order(http, sandbox, 8010)
    url = link(shop, 8010)
    known = http.get(url + "contribuyente/", params={"rut": "764304985"}, timeout=30).json()
    assert known["found"] is True and known["razon_social"] == "HOSTY SPA" and known["comuna"] == "Curicó"
    # Whole: the form shortens it at a word boundary and shows it before issuing (issue 15 point 8).
    assert known["giro"] == "EMPRESAS DE SERVICIOS INTEGRALES DE INFORMÁTICA"
    unknown = http.get(url + "contribuyente/", params={"rut": "11.111.111-1"}, timeout=30).json()
    assert unknown == {"found": False}
    assert http.get(url + "contribuyente/", params={"rut": "1-2"}, timeout=30).status_code == 400
    assert (
        http.get(sandbox("/documento/x/contribuyente/"), params={"rut": "1-9"}, timeout=30).status_code == 404
    )


def test_taxpayer_lookup_is_rate_limited_per_link_and_ip(sandbox, http, shop):
    paid_order(http, sandbox, 8011)
    url = link(shop, 8011) + "contribuyente/"
    statuses = [http.get(url, params={"rut": "76430498-5"}, timeout=30).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]


def test_unfinished_conversions_are_swept(sandbox, http, shop, monkeypatch):
    from datetime import timedelta as td

    from openfactura_app.celery import app

    paid_order(http, sandbox, 8012)
    real_build = services.document_build

    def build_then_fail(**kwargs):
        fail_next_emit()
        return real_build(**kwargs)

    monkeypatch.setattr(services, "document_build", build_then_fail)
    submit(http, link(shop, 8012), **TAXPAYER)
    monkeypatch.setattr(services, "document_build", real_build)
    assert app.conf.task_always_eager
    assert services.conversion_sweep(older_than=td(seconds=-1)) == 1  # the task runs now (eager)
    conversion = Conversion.objects.get(store=shop, order_id=8012)
    assert conversion.state == "done"
    assert tipos(http, sandbox) == [39, 61, 33]
