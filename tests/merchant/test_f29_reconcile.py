"""Reconciliation of the F29 month with OpenFactura's issued list (issue 17 §2), against the sandbox: a
document issued by hand in OpenFactura only, one of ours OpenFactura does not list, an amount that differs,
more than one page (30 a page), cancellation between pages, and the page's button running it as a job."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from emission.models import Document, DocumentState
from tests import flows
from tests.flows import live_store, paid_boleta, submit_form
from tests.shots import screenshots

pytestmark = pytest.mark.django_db(transaction=True)


class FakeProgress:
    """What ``merchant.jobs`` hands a runner, recording the calls; cancelled after ``cancel_after`` pages."""

    def __init__(self, cancel_after: int | None = None) -> None:
        self.totals: list[int] = []
        self.advanced = 0
        self.created = 0
        self.cancel_after = cancel_after

    def set_total(self, n: int) -> None:
        self.totals.append(n)

    def advance(self, created: int = 0, skipped: dict[str, int] | None = None) -> None:
        self.advanced += 1
        self.created += created

    def cancelled(self) -> bool:
        return self.cancel_after is not None and self.advanced >= self.cancel_after


def _hand_issue(http, sandbox, store, **data) -> list[dict]:
    response = http.post(
        sandbox("/sandbox/openfactura/documents/manual"),
        json={"api_key": f"sandbox-{store.code}", **data},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _today():
    return timezone.localdate()


@pytest.fixture
def month(http, sandbox, settings):
    """A live store with two boletas paid through Jumpseller (one stored here with a different total), a
    document of ours OpenFactura never saw, 35 boletas and a factura issued by hand in OpenFactura."""
    store = live_store(http, sandbox, settings, "tienda-f29", "Tienda F29")
    matched = paid_boleta(http, sandbox, store, 5001)
    tampered = paid_boleta(http, sandbox, store, 5002)
    assert matched.state == tampered.state == DocumentState.EMITTED
    Document.objects.filter(pk=tampered.pk).update(mnt_total=tampered.mnt_total + 1)
    missing = Document.objects.create(
        store=store, order_id=5003, order_number="5003", purpose="boleta", kind="boleta", tipo=39,
        state=DocumentState.EMITTED, demo=False, idempotency_key="f29-missing", token="not-in-openfactura",
        folio=999_999, fecha_emision=_today(), mnt_neto=8403, iva=1597, mnt_total=10000,
    )  # fmt: skip
    by_hand = _hand_issue(http, sandbox, store, tipo=39, mnt_total=1190, count=35)
    factura = _hand_issue(
        http,
        sandbox,
        store,
        tipo=33,
        mnt_total=119000,
        rut_recep="76123456-0",
        razon_social="Cliente Mayorista",
    )[0]
    # Another company's hand-issued document is not this key's: never listed.
    http.post(
        sandbox("/sandbox/openfactura/documents/manual"),
        json={"api_key": "sandbox-otra", "tipo": 39, "mnt_total": 5},
    )
    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = "3/100"  # the fake refuses past the key's budget from here on
    return SimpleNamespace(
        store=store, matched=matched, tampered=tampered, missing=missing, by_hand=by_hand, factura=factura
    )


def _run(store, progress):
    from merchant.f29_reconcile import run

    today = _today()
    job = SimpleNamespace(store_id=store.pk, params={"year": today.year, "month": today.month})
    return run(job, progress)


def test_differences_both_ways_over_every_page_within_the_budget(month, monkeypatch):
    waits = []
    monkeypatch.setattr("merchant.f29_reconcile._sleep", waits.append)
    progress = FakeProgress()

    result = _run(month.store, progress)

    assert result["error"] == "" and result["cancelled"] is False
    # 37 boletas (2 paid + 35 by hand) are two pages of 30; every other type one page (or none: 204).
    assert progress.totals == [5, 6] and progress.advanced == 6
    assert progress.created == 38  # documents read from OpenFactura
    assert waits == []  # paced by the key's budget: OpenFactura never answered 429
    assert (result["openfactura_count"], result["ours_count"], result["matched"]) == (38, 3, 2)
    hand_keys = [(39, row["folio"]) for row in month.by_hand] + [(33, month.factura["folio"])]
    only_of = [(row["tipo"], row["folio"]) for row in result["only_openfactura"]]
    assert sorted(only_of) == sorted(hand_keys) and len(only_of) == 36
    factura_row = next(row for row in result["only_openfactura"] if row["tipo"] == 33)
    assert factura_row == {
        "tipo": 33, "documento": "Factura electrónica", "folio": month.factura["folio"],
        "fecha": _today().isoformat(), "total": 119000, "rut_recep": "76123456-0",
        "razon_social": "Cliente Mayorista",
    }  # fmt: skip
    assert result["only_ours"] == [
        {
            "tipo": 39, "documento": "Boleta electrónica", "folio": 999_999, "fecha": _today().isoformat(),
            "total": 10000, "document_id": month.missing.pk, "order": "5003",
        }
    ]  # fmt: skip
    (mismatch,) = result["mismatches"]
    assert (mismatch["folio"], mismatch["order"]) == (month.tampered.folio, "5002")
    assert mismatch["fields"] == [
        {"name": "Total", "ours": month.tampered.mnt_total + 1, "openfactura": month.tampered.mnt_total}
    ]
    assert result["resolved_by_hand"] == []


def test_a_folio_resolved_by_hand_is_explained(month):
    folio = month.by_hand[0]["folio"]
    Document.objects.create(
        store=month.store, order_id=5004, order_number="5004", purpose="boleta", kind="boleta", tipo=39,
        state=DocumentState.RESOLVED, idempotency_key="f29-resolved", resolved_folio=folio,
    )  # fmt: skip
    result = _run(month.store, FakeProgress())
    assert [(r["folio"], r["order"]) for r in result["resolved_by_hand"]] == [(folio, "5004")]
    assert folio not in [r["folio"] for r in result["only_openfactura"] if r["tipo"] == 39]


def test_cancelled_between_pages_stops_reading(month):
    progress = FakeProgress(cancel_after=2)
    result = _run(month.store, progress)
    assert result["cancelled"] is True and "only_openfactura" not in result
    assert progress.advanced == 2


def test_a_store_without_api_key_is_told_in_spanish(month):
    from emission.models import EmissionSettings

    EmissionSettings.objects.filter(store=month.store).update(api_key="", demo_mode=True)
    progress = FakeProgress()
    result = _run(month.store, progress)
    assert result["error"].startswith("Tu tienda no tiene API key de OpenFactura")
    assert progress.advanced == 0


def test_the_page_button_runs_the_reconciliation_as_a_job_and_shows_its_result(month, http, sandbox):
    from merchant.models import BackgroundJob

    today = _today()
    page = sandbox(f"/app/f29/?mes={today:%Y-%m}")
    response = submit_form(http, page)
    assert response.status_code == 200
    job = BackgroundJob.objects.get(store=month.store, kind="f29_reconcile")
    assert job.params == {"year": today.year, "month": today.month}
    assert (job.state, job.total, job.done, job.created) == ("done", 6, 6, 38)
    text = http.get(page, timeout=30).text
    assert "En OpenFactura, sin un pedido nuestro que lo explique (36)" in text
    assert f'data-clave="33-{month.factura["folio"]}"' in text
    assert "Nuestros, que OpenFactura no lista (1)" in text and 'data-clave="39-999999"' in text
    assert "Con datos distintos (1)" in text and f'data-clave="39-{month.tampered.folio}"' in text
    # Another month has no result of its own.
    other = http.get(sandbox(f"/app/f29/?mes={(today.replace(day=1) - timedelta(days=1)):%Y-%m}"), timeout=30)
    assert "Última conciliación" not in other.text


def test_one_job_at_a_time_per_store(month, http, sandbox):
    from merchant.models import BackgroundJob

    BackgroundJob.objects.create(store=month.store, kind="f29_reconcile", state="running", params={})
    response = submit_form(http, sandbox("/app/f29/"))
    assert "Ya hay un trabajo en curso en tu tienda" in response.text
    assert BackgroundJob.objects.filter(store=month.store).count() == 1


def _shots(page, name: str) -> None:
    screenshots(page, name, folder="f29")


@pytest.mark.browser
def test_the_merchant_reconciles_the_month_in_chromium(page, month, http, sandbox):
    """Log the browser in as the merchant, open F29 from the menu, press the button, read the result."""
    # A nota de crédito annulling a boleta, and a factura, through Jumpseller as a merchant gets them.
    flows.cancel(http, sandbox, month.store.code, 5001)
    flows.configure(month.store, factura_directa=True)
    flows.create_order(http, sandbox, month.store.code, flows.example_order("empresa", id=5010))
    flows.pay(http, sandbox, month.store.code, 5010)
    assert Document.objects.filter(store=month.store, tipo__in=(33, 61), state="emitted").count() == 2

    page.goto(sandbox("/jumpseller/"))
    page.locator("#store").fill(month.store.code)
    page.get_by_role("button", name="Autorizar").click()
    page.wait_for_url(lambda url: "/sandbox/" not in url and "/callback" not in url)
    page.locator("nav.merchant-menu").get_by_role("link", name="F29").click()
    page.get_by_role("heading", name=re.compile("Resumen para tu F29")).wait_for()
    assert page.locator('tr[data-tipo="61"] td').nth(1).inner_text() == "1"
    assert page.locator('tr[data-tipo="33"] td').nth(1).inner_text() == "1"
    page.get_by_role("button", name="Conciliar con OpenFactura").click()
    page.locator("#conciliacion-resultado").wait_for(timeout=60_000)
    assert "(36)" in page.locator("#conciliacion").inner_text()
    _shots(page, "f29")


def test_the_sandbox_issues_documents_by_hand_that_only_their_key_lists(http, sandbox, settings):
    from emission.client import OpenFacturaClient

    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = "off"
    url = sandbox("/sandbox/openfactura/documents/manual")
    boleta = http.post(url, json={"api_key": "sandbox-a", "tipo": 39, "mnt_total": 1000}, timeout=10)
    assert boleta.status_code == 201
    exenta = http.post(
        url, json={"api_key": "sandbox-a", "tipo": 41, "mnt_total": 500, "fch_emis": "2026-11-30"}
    )
    assert exenta.status_code == 201
    refused = {
        "tipo": (
            http.post(url, json={"api_key": "sandbox-a", "tipo": 52, "mnt_total": 1}),
            "tipo debe ser uno de",
        ),
        "key": (http.post(url, json={"api_key": "nadie", "tipo": 39, "mnt_total": 1}), "api_key desconocida"),
        "sum": (
            http.post(
                url, json={"api_key": "sandbox-a", "tipo": 33, "mnt_neto": 100, "iva": 19, "mnt_total": 120}
            ),
            "mnt_neto + mnt_exe + iva debe ser mnt_total",
        ),
        "form": (http.post(url, data={"api_key": "sandbox-a"}), "El cuerpo debe ser JSON"),
    }
    for name, (response, message) in refused.items():
        assert response.status_code in (400, 415) and message in response.json()["message"], name
    assert http.get(url).status_code == 405

    client = OpenFacturaClient(api_key="sandbox-a", base_url=sandbox("/sandbox/openfactura"))
    rows = client.issued({}).rows
    # 1000 / 1.19 = 840.34 → neto 840, IVA 160 (half up, as OpenFactura's form); an exenta is all exento.
    assert [
        (r["TipoDTE"], r["FchEmis"], r["MntNeto"], r["MntExe"], r["IVA"], r["MntTotal"]) for r in rows
    ] == [
        (41, "2026-11-30", 0, 500, 0, 500),
        (39, timezone.localdate().isoformat(), 840, 0, 160, 1000),
    ]
    assert (
        OpenFacturaClient(api_key="sandbox-b", base_url=sandbox("/sandbox/openfactura")).issued({}).rows == []
    )
