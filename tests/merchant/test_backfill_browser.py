"""«Emitir documentos de pedidos anteriores» in Chromium against the sandbox (issue 17 §3): the progress bar
advances while the job runs outside the request and reaches done with its counts; Cancelar stops a run.
Screenshots during and after a run go to ``$SCREENSHOTS_DIR/backfill`` (tests/shots.py)."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from emission.models import Document
from merchant.models import BackgroundJob
from tests import flows
from tests.shots import screenshots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CODE = "tienda-anterior"


def _shots(page, name: str) -> None:
    screenshots(page, name, folder="backfill")


def _paid_before(http, sandbox, order_id: int, days_ago: int = 0) -> None:
    moment = (timezone.now() - timedelta(days=days_ago)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    order = flows.example_order("afecta", id=order_id, status="Paid", created_at=moment, completed_at=moment)
    flows.create_order(http, sandbox, CODE, order)


def _counts(page) -> tuple[int, int]:
    bar = page.locator("progress.job-bar")
    return int(float(bar.evaluate("b => b.value"))), int(float(bar.evaluate("b => b.max")))


def _start(page, sandbox) -> None:
    today = timezone.localdate()
    page.goto(sandbox("/app/documentos/anteriores/"))
    page.get_by_label("Desde (dd-mm-aaaa)").fill(f"{today - timedelta(days=45):%d-%m-%Y}")
    page.get_by_label("Hasta (dd-mm-aaaa)").fill(f"{today:%d-%m-%Y}")
    page.get_by_role("button", name="Buscar y emitir").click()


def test_the_progress_bar_moves_to_done_and_cancelar_stops_a_run(page, sandbox, http, settings):
    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = "off"
    settings.BACKGROUND_JOBS_IN_THREAD = True  # as the dev server of ./run: the job runs beside the page
    assert http.post(sandbox("/sandbox/jumpseller/stores"), json={"code": CODE, "name": "Tienda Anterior"}).ok
    page.goto(sandbox("/jumpseller/"))
    page.locator("#store").fill(CODE)
    page.get_by_role("button", name="Autorizar").click()
    page.wait_for_url(sandbox("/app/primeros-pasos/"))

    for order_id in range(8301, 8307):  # six orders paid before install, one of an earlier month
        _paid_before(http, sandbox, order_id)
    _paid_before(http, sandbox, 8307, days_ago=40)
    flows.faults(http, sandbox, latency_ms=300)  # each emission takes a moment: the bar is seen moving

    _start(page, sandbox)
    box = page.locator("section.job-progress")
    box.wait_for()
    page.wait_for_function(
        "() => { const b = document.querySelector('progress.job-bar'); "
        "return b.value >= 2 && b.value < b.max; }"
    )
    done, total = _counts(page)
    assert total == 7 and 2 <= done < 7
    assert box.get_by_role("button", name="Cancelar").is_visible()
    _shots(page, "backfill-during")

    # When the job ends the page reloads itself with the result: every order done, six documents.
    page.locator('[data-job="state_label"]', has_text="Terminado").wait_for(timeout=30_000)
    assert _counts(page) == (7, 7)
    text = " ".join(box.inner_text().split())
    assert "7 de 7 pedidos revisados · 6 documentos creados · 1 omitido" in text
    assert "Pagado en un mes anterior, espera tu confirmación: 1" in text
    assert page.get_by_role(
        "heading", name="Pedidos de meses anteriores (1): esperan tu confirmación"
    ).is_visible()
    assert "#8307" in page.locator("#meses-anteriores").inner_text()
    _shots(page, "backfill-done")

    # Cancelar: a longer run stops at its next order; what it created stays, the rest is not emitted.
    for order_id in range(8311, 8331):
        _paid_before(http, sandbox, order_id)
    flows.faults(http, sandbox, latency_ms=500)
    _start(page, sandbox)
    page.wait_for_function("() => document.querySelector('progress.job-bar').value >= 8")
    page.locator("section.job-progress").get_by_role("button", name="Cancelar").click()
    page.locator('[data-job="state_label"]', has_text="Cancelado").wait_for(timeout=30_000)
    _shots(page, "backfill-cancelled")
    job = BackgroundJob.objects.filter(kind="backfill").first()
    assert job.state == "cancelled" and job.done < job.total
    new_documents = Document.objects.filter(store__code=CODE, order_id__gte=8311).count()
    assert 0 < new_documents < 20
    assert new_documents == job.created
    # The store can run it again: the rest gets its documents, nothing twice.
    flows.faults(http, sandbox)
    _start(page, sandbox)
    page.locator('[data-job="state_label"]', has_text="Terminado").wait_for(timeout=60_000)
    assert Document.objects.filter(store__code=CODE, order_id__gte=8311).count() == 20
    assert len(flows.openfactura_documents(http, sandbox)) == 26

    # «Reconciliar un rango de fechas» of Documentos runs as a job too, with the same bar.
    _paid_before(http, sandbox, 8340)
    page.get_by_role("link", name="Documentos", exact=True).first.click()
    today = timezone.localdate()
    reconcile = page.locator("form[action$='/reconciliar']")
    reconcile.get_by_label("Desde").fill(today.isoformat())
    reconcile.get_by_label("Hasta").fill(today.isoformat())
    reconcile.get_by_role("button", name="Reconciliar").click()
    page.locator('[data-job="state_label"]', has_text="Terminado").wait_for(timeout=30_000)
    assert "1 sin documento, en emisión" in " ".join(
        page.locator("section.job-progress").inner_text().split()
    )
    assert "1 no tenían documento y se emitirán ahora" in page.locator(".job-summary").inner_text()
    _shots(page, "documentos-reconciliar")
