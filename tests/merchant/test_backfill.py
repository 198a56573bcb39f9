"""«Emitir documentos de pedidos anteriores» (issue 17 §3) through the sandbox: orders paid before install
get their document once, a second run creates nothing, an earlier month's orders wait for the merchant's
confirmation, and what is skipped says why. «Reconciliar un rango de fechas» runs as a job too."""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from emission.models import Document
from merchant.backfill import LINK_SENT, SKIP_CURRENCY, SKIP_DOCUMENTED, SKIP_EARLIER, SKIP_NOTICE
from merchant.models import BackgroundJob
from tests import flows

pytestmark = pytest.mark.django_db(transaction=True)

CODE = "anteriores"
PAGE = "/app/documentos/anteriores/"


@pytest.fixture
def shop(sandbox, http, settings):
    return flows.installed_store(http, sandbox, settings, CODE, "Tienda Anteriores")


def jumpseller_time(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def paid_before(http, sandbox, order_id: int, days_ago: int = 0, **changes) -> None:
    """An order that Jumpseller has as paid and that never reached the app (paid before install)."""
    moment = jumpseller_time(timezone.now() - timedelta(days=days_ago))
    order = flows.example_order("afecta", id=order_id, status="Paid", created_at=moment, completed_at=moment)
    flows.create_order(http, sandbox, CODE, {**order, **changes})


def run_backfill(http, sandbox, days: int = 45):
    today = timezone.localdate()
    response = flows.submit_form(
        http,
        sandbox(PAGE),
        date_from=f"{today - timedelta(days=days):%d-%m-%Y}",
        date_to=f"{today:%d-%m-%Y}",
    )
    assert response.status_code == 200, response.text
    return response, BackgroundJob.objects.filter(kind="backfill").first()


def visible(response) -> str:
    """The page's text as read, without tags and with single spaces."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.text).split()).replace(" ,", ",")


def sale_orders(shop) -> set[int]:
    return set(
        Document.objects.filter(store=shop).exclude(kind="nota_credito").values_list("order_id", flat=True)
    )


def test_orders_paid_before_install_get_their_document_once(sandbox, http, shop):
    flows.paid_boleta(http, sandbox, shop, 8001)  # paid with the app installed: has its boleta
    for order_id in (8002, 8003, 8004):
        paid_before(http, sandbox, order_id)
    paid_before(http, sandbox, 8005, currency="USD")
    paid_before(http, sandbox, 8006, days_ago=40)  # an earlier month
    flows.create_order(http, sandbox, CODE, flows.example_order("afecta", id=8007))  # not paid: not listed
    assert sale_orders(shop) == {8001}

    response, job = run_backfill(http, sandbox)
    assert "Buscando los pedidos pagados entre" in response.text
    assert (job.state, job.total, job.done, job.created) == ("done", 6, 6, 3)
    assert job.skipped == {SKIP_DOCUMENTED: 1, SKIP_CURRENCY: 1, SKIP_EARLIER: 1}
    assert sale_orders(shop) == {8001, 8002, 8003, 8004}
    assert len(flows.openfactura_documents(http, sandbox)) == 4
    assert "6 de 6 pedidos revisados · 3 documentos creados · 3 omitidos" in visible(response)
    assert "No está en pesos chilenos (CLP), emítelo a mano en OpenFactura: 1" in response.text

    # Safe to run twice: nothing new, every emitted order is skipped as documented.
    response, again = run_backfill(http, sandbox)
    assert again.pk != job.pk
    assert (again.state, again.created) == ("done", 0)
    assert again.skipped == {SKIP_DOCUMENTED: 4, SKIP_CURRENCY: 1, SKIP_EARLIER: 1}
    assert len(flows.openfactura_documents(http, sandbox)) == 4


def test_an_earlier_months_orders_wait_for_the_merchants_confirmation(sandbox, http, shop):
    paid_before(http, sandbox, 8101)
    paid_before(http, sandbox, 8102, days_ago=40)
    paid_before(http, sandbox, 8103, days_ago=70)

    response, job = run_backfill(http, sandbox, days=80)
    assert sale_orders(shop) == {8101}
    assert [row["id"] for row in job.result["earlier"]] == [8102, 8103]
    text = visible(response)
    assert "Pedidos de meses anteriores (2): esperan tu confirmación" in text
    assert "se declara en el F29 de este mes" in text
    assert "#8102" in text and "#8103" in text

    confirmed = flows.submit_form(
        http, sandbox(PAGE), date_from=None, date_to=None, accion="confirmar", job=str(job.pk)
    )
    assert confirmed.status_code == 200
    assert "Emitiendo los documentos de 2 pedidos de meses anteriores." in confirmed.text
    assert sale_orders(shop) == {8101, 8102, 8103}
    confirmation = BackgroundJob.objects.filter(kind="backfill").first()
    assert (confirmation.state, confirmation.created, confirmation.params["order_ids"]) == (
        "done",
        2,
        [8102, 8103],
    )
    assert "esperan tu confirmación" not in confirmed.text  # the list is gone once they are emitted

    # Confirming the same list again (a second tab) emits nothing more.
    http.post(sandbox(PAGE), data={**_fields(http, sandbox), "accion": "confirmar", "job": str(job.pk)})
    last = BackgroundJob.objects.filter(kind="backfill").first()
    assert last.created == 0 and last.skipped == {SKIP_DOCUMENTED: 2}
    assert len(flows.openfactura_documents(http, sandbox)) == 3


def _fields(http, sandbox) -> dict:
    form = flows.BrowserForm()
    form.feed(http.get(sandbox(PAGE), timeout=10).text)
    return {k: v for k, v in form.fields.items() if k in ("csrfmiddlewaretoken", "store", "of_sesion")}


def test_a_second_job_is_refused_while_one_runs(sandbox, http, shop):
    running = BackgroundJob.objects.create(store=shop, kind="reconcile", state="running")
    response, _ = run_backfill(http, sandbox)
    assert "Ya hay un trabajo en curso en tu tienda («Reconciliar un rango de fechas»)" in response.text
    assert BackgroundJob.objects.filter(store=shop).count() == 1
    running.delete()


def test_the_form_reads_chilean_dates_and_refuses_a_backwards_range(sandbox, http, shop):
    response = flows.submit_form(http, sandbox(PAGE), date_from="10-11-2026", date_to="01-11-2026")
    assert response.status_code == 400
    assert "La fecha final debe ser igual o posterior a la inicial." in response.text
    response = flows.submit_form(http, sandbox(PAGE), date_from="2026/11/01", date_to="hoy")
    assert "Escribe la fecha como dd-mm-aaaa" in response.text
    assert not BackgroundJob.objects.exists()


def test_reconciliar_runs_as_a_job_and_shows_its_result(sandbox, http, shop):
    for order_id in (8201, 8202):
        paid_before(http, sandbox, order_id)
    today = timezone.localdate()
    # Documentos' first POST form is «Emitir para una orden»: the reconcile form is posted as a browser would.
    response = http.post(
        sandbox("/app/documentos/reconciliar"),
        data={
            **_fields(http, sandbox),
            "date_from": (today - timedelta(days=1)).isoformat(),
            "date_to": today.isoformat(),
        },
        timeout=60,
    )
    assert response.status_code == 200
    job = BackgroundJob.objects.get(kind="reconcile")
    assert (job.state, job.total, job.created, job.result) == ("done", 2, 2, {"found": 2, "earlier": []})
    assert "2 no tenían documento y se emitirán ahora" in response.text
    assert sale_orders(shop) == {8201, 8202}


def test_in_mode_3_the_customer_gets_the_link_once_instead_of_a_document(sandbox, http, shop):
    from emission.models import CustomerNotice, EmissionMode

    flows.configure(shop, mode=EmissionMode.LINK_BOLETA_O_FACTURA)
    paid_before(http, sandbox, 8401)
    _, job = run_backfill(http, sandbox)
    assert (job.created, job.skipped) == (0, {LINK_SENT: 1})
    assert sale_orders(shop) == set()
    assert CustomerNotice.objects.filter(store=shop, order_id=8401).count() == 1
    _, again = run_backfill(http, sandbox)
    assert (again.created, again.skipped) == (0, {SKIP_NOTICE: 1})
    assert CustomerNotice.objects.filter(store=shop, order_id=8401).count() == 1


# --- One path: «Reconciliar un rango de fechas» and the hourly reconciliation (issue 17 §3) ---------------
DECEMBER = date(2026, 12, 15)
SANTIAGO = timezone.get_fixed_timezone(-180)


def paid_at(http, sandbox, order_id: int, day: date, **changes) -> None:
    """An order Jumpseller has as paid on ``day`` (noon, Chile) that never reached the app."""
    moment = jumpseller_time(datetime(day.year, day.month, day.day, 12, tzinfo=SANTIAGO))
    order = flows.example_order("afecta", id=order_id, status="Paid", created_at=moment, completed_at=moment)
    flows.create_order(http, sandbox, CODE, {**order, **changes})


@pytest.fixture
def in_december(monkeypatch):
    """Today is 15-12-2026 for the reconciliation: a November sale is an earlier month's."""
    monkeypatch.setattr("emission.services.reconciliation.today_chile", lambda: DECEMBER)


def test_reconciliar_holds_an_earlier_months_order_until_the_merchant_confirms(
    sandbox, http, shop, in_december
):
    paid_at(http, sandbox, 8501, date(2026, 11, 20))  # November: waits for the confirmation
    paid_at(http, sandbox, 8502, date(2026, 12, 2))  # this month: emitted
    paid_at(http, sandbox, 8503, date(2026, 12, 3), currency="USD")  # skipped, with its reason
    response = http.post(
        sandbox("/app/documentos/reconciliar"),
        data={**_fields(http, sandbox), "date_from": "2026-11-01", "date_to": DECEMBER.isoformat()},
        timeout=60,
    )
    assert response.status_code == 200
    job = BackgroundJob.objects.get(kind="reconcile")
    assert (job.state, job.total, job.created) == ("done", 3, 1)
    assert job.skipped == {SKIP_EARLIER: 1, SKIP_CURRENCY: 1}
    assert [row["id"] for row in job.result["earlier"]] == [8501]
    assert sale_orders(shop) == {8502}
    assert "1 pagadas en un mes anterior esperan tu confirmación" in visible(response)

    # The list waits on «Emitir documentos de pedidos anteriores»; confirmed, it is emitted there.
    page = http.get(sandbox(PAGE), timeout=10)
    assert "Pedidos de meses anteriores (1): esperan tu confirmación" in visible(page)
    confirmed = flows.submit_form(
        http, sandbox(PAGE), date_from=None, date_to=None, accion="confirmar", job=str(job.pk)
    )
    assert "Emitiendo los documentos de 1 pedidos de meses anteriores." in confirmed.text
    assert sale_orders(shop) == {8501, 8502}
    assert len(flows.openfactura_documents(http, sandbox)) == 2


def test_the_hourly_reconciliation_never_emits_an_earlier_months_order(
    sandbox, http, shop, in_december, caplog
):
    from emission import tasks

    paid_at(http, sandbox, 8601, date(2026, 11, 30))  # its webhook was lost; found on 15-12
    paid_at(http, sandbox, 8602, date(2026, 12, 14))
    paid_at(http, sandbox, 8603, date(2026, 12, 14), currency="USD")
    with caplog.at_level(logging.WARNING, logger="emission.services.reconciliation"):
        assert tasks.reconcile_store(shop.pk, "2026-11-25", DECEMBER.isoformat()) == 1
    assert sale_orders(shop) == {8602}
    assert "held for the merchant's confirmation" in caplog.text and "8601" in caplog.text
