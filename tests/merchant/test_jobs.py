"""Background jobs (issue 17 §3): one at a time per store (a database constraint, also under concurrent
starts), cancel, a job whose worker died does not block the store, the status endpoint is store-scoped."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from merchant import jobs
from merchant.models import BackgroundJob
from tests.integration.conftest import make_store

from .conftest import csrf_token

KIND = "test_items"
seen: list[int] = []


def run_items(job, progress):
    """Three items: the first created, the second skipped, the third created; ``cancel_at`` cancels there
    (as the merchant pressing Cancelar while it runs; ``items`` cancels after the last one); ``stale_at``
    has the job marked failed there by ``jobs_recover_stale`` as if its heartbeat had stopped."""
    items = job.params.get("items", 3)
    progress.set_total(items)
    for n in range(items):
        if n == job.params.get("cancel_at"):
            jobs.job_cancel(store_id=job.store_id, job_id=job.pk)
        if n == job.params.get("stale_at"):
            BackgroundJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(hours=2))
            jobs.jobs_recover_stale(store_id=job.store_id)
        if progress.cancelled():
            break
        if job.params.get("fail_at") == n:
            raise RuntimeError("boom")
        seen.append(n)
        progress.advance(created=0 if n % 2 else 1, skipped={"ya tenía documento": 1} if n % 2 else None)
    if job.params.get("cancel_at") == items:
        jobs.job_cancel(store_id=job.store_id, job_id=job.pk)
    return {"items": items}


@pytest.fixture(autouse=True)
def _runner():
    jobs.register(KIND, run_items, label="Trabajo de prueba")
    seen.clear()
    yield
    jobs._RUNNERS.pop(KIND, None)


def start(store, run=True, capture=None, **params):
    if capture is None:
        return jobs.job_start(store_id=store.pk, kind=KIND, params=params, who="prueba")
    with capture(execute=run):
        job = jobs.job_start(store_id=store.pk, kind=KIND, params=params, who="prueba")
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_a_job_runs_and_reports_its_counts(store, django_capture_on_commit_callbacks):
    job = start(store, capture=django_capture_on_commit_callbacks)
    assert job.state == BackgroundJob.State.DONE
    assert (job.total, job.done, job.created, job.skipped) == (3, 3, 2, {"ya tenía documento": 1})
    assert job.result == {"items": 3} and job.finished_at is not None


@pytest.mark.django_db
def test_one_job_at_a_time_per_store(store, other_store, django_capture_on_commit_callbacks):
    first = start(store, run=False, capture=django_capture_on_commit_callbacks)
    assert first.state == BackgroundJob.State.QUEUED
    with pytest.raises(jobs.JobRefused) as refused:
        start(store)
    assert "Ya hay un trabajo en curso en tu tienda («Trabajo de prueba»)" in refused.value.message
    assert BackgroundJob.objects.filter(store=store).count() == 1
    # Another store is not blocked; and once the first ends, this store can start again.
    assert start(other_store, run=False, capture=django_capture_on_commit_callbacks).state == "queued"
    jobs.job_cancel(store_id=store.pk, job_id=first.pk)
    assert start(store, capture=django_capture_on_commit_callbacks).state == BackgroundJob.State.DONE


@pytest.mark.django_db
def test_the_database_refuses_a_second_active_job_even_without_the_check(store):
    BackgroundJob.objects.create(store=store, kind=KIND, state=BackgroundJob.State.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        BackgroundJob.objects.create(store=store, kind=KIND, state=BackgroundJob.State.QUEUED)
    BackgroundJob.objects.create(store=store, kind=KIND, state=BackgroundJob.State.DONE)  # finished ones: any


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_create_one_job(monkeypatch):
    monkeypatch.setattr(jobs, "_dispatch", lambda job_id: None)  # the winner stays queued: no early finish
    store = make_store(code="tienda-carrera")
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait(timeout=10)
            jobs.job_start(store_id=store.pk, kind=KIND, params={"items": 0}, who="prueba")
            outcomes.append("started")
        except jobs.JobRefused:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["refused", "refused", "refused", "started"]
    assert BackgroundJob.objects.filter(store=store).count() == 1


@pytest.mark.django_db
def test_cancel_stops_a_running_job_at_its_next_item(store, django_capture_on_commit_callbacks):
    job = start(store, capture=django_capture_on_commit_callbacks, items=5, cancel_at=2)
    assert job.state == BackgroundJob.State.CANCELLED
    assert seen == [0, 1] and job.done == 2 and job.created == 1
    # The store can start another right away.
    assert start(store, capture=django_capture_on_commit_callbacks).state == BackgroundJob.State.DONE


@pytest.mark.django_db
def test_cancelar_after_the_last_item_still_ends_done(store, django_capture_on_commit_callbacks):
    job = start(store, capture=django_capture_on_commit_callbacks, items=3, cancel_at=3)
    assert job.cancel_requested and seen == [0, 1, 2]
    assert (job.state, job.done, job.total, job.result) == (BackgroundJob.State.DONE, 3, 3, {"items": 3})


@pytest.mark.django_db
def test_a_job_marked_failed_as_stale_stops_although_its_process_still_runs(store):
    job = BackgroundJob.objects.create(store=store, kind=KIND, state=BackgroundJob.State.RUNNING)
    progress = jobs.Progress(job)
    assert not progress.cancelled()
    BackgroundJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    assert jobs.jobs_recover_stale(store_id=store.pk) == 1
    assert progress.cancelled()  # no Cancelar pressed: the job is simply no longer running


@pytest.mark.django_db
def test_a_running_job_marked_failed_as_stale_stops_at_its_next_item(
    store, django_capture_on_commit_callbacks
):
    job = start(store, capture=django_capture_on_commit_callbacks, items=5, stale_at=2)
    assert seen == [0, 1] and job.done == 2
    assert job.state == BackgroundJob.State.FAILED and "dejó de avanzar" in job.error
    assert not job.cancel_requested


@pytest.mark.django_db
def test_cancelar_a_queued_job_from_the_page(merchant, store, django_capture_on_commit_callbacks):
    job = start(store, run=False, capture=django_capture_on_commit_callbacks)
    page = merchant.get("/app/documentos/")
    response = merchant.post(
        f"/app/trabajos/{job.pk}/cancelar",
        {"csrfmiddlewaretoken": csrf_token(page), "store": store.code, "next": "/app/documentos/"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/app/documentos/"
    assert "Cancelaste «Trabajo de prueba»." in response.content.decode()
    job.refresh_from_db()
    assert job.state == BackgroundJob.State.CANCELLED
    jobs.job_run(job.pk)  # its message arrives late: nothing runs
    assert seen == []


@pytest.mark.django_db
def test_a_failing_runner_ends_failed_and_frees_the_store(store, django_capture_on_commit_callbacks):
    job = start(store, capture=django_capture_on_commit_callbacks, fail_at=1)
    assert job.state == BackgroundJob.State.FAILED and job.done == 1
    assert "error inesperado" in job.error and "lo que ya se hizo no se repite" in job.error
    assert start(store, capture=django_capture_on_commit_callbacks).state == BackgroundJob.State.DONE


@pytest.mark.django_db
def test_a_job_whose_worker_died_does_not_block_the_store(
    merchant, store, django_capture_on_commit_callbacks
):
    stuck = start(store, run=False, capture=django_capture_on_commit_callbacks)
    # The worker claimed it and died: no heartbeat since.
    BackgroundJob.objects.filter(pk=stuck.pk).update(
        state=BackgroundJob.State.RUNNING, updated_at=timezone.now() - timedelta(minutes=16)
    )
    fresh = start(store, capture=django_capture_on_commit_callbacks)
    assert fresh.state == BackgroundJob.State.DONE
    stuck.refresh_from_db()
    assert stuck.state == BackgroundJob.State.FAILED and "dejó de avanzar" in stuck.error


@pytest.mark.django_db
def test_a_running_job_with_a_recent_heartbeat_is_not_taken_for_dead(
    store, django_capture_on_commit_callbacks
):
    running = start(store, run=False, capture=django_capture_on_commit_callbacks)
    BackgroundJob.objects.filter(pk=running.pk).update(
        state=BackgroundJob.State.RUNNING, updated_at=timezone.now() - timedelta(minutes=5)
    )
    with pytest.raises(jobs.JobRefused):
        start(store)
    assert jobs.recover_stale_jobs() == 0  # the periodic sweep, too


@pytest.mark.django_db
def test_the_status_endpoint_is_scoped_to_the_store(
    merchant, store, other_store, django_capture_on_commit_callbacks
):
    mine = start(store, capture=django_capture_on_commit_callbacks)
    theirs = start(other_store, run=False, capture=django_capture_on_commit_callbacks)
    data = merchant.get(f"/app/trabajos/{mine.pk}/").json()
    assert {k: data[k] for k in ("state", "done", "total", "created", "active", "label")} == {
        "state": "done",
        "done": 3,
        "total": 3,
        "created": 2,
        "active": False,
        "label": "Trabajo de prueba",
    }
    assert data["skipped"] == [{"reason": "ya tenía documento", "count": 1}]
    assert merchant.get(f"/app/trabajos/{theirs.pk}/").status_code == 404
    page = merchant.get("/app/documentos/")
    cancel = merchant.post(
        f"/app/trabajos/{theirs.pk}/cancelar", {"csrfmiddlewaretoken": csrf_token(page), "store": store.code}
    )
    assert cancel.status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == BackgroundJob.State.QUEUED and not theirs.cancel_requested


def test_runner_modules_not_written_yet_are_skipped(monkeypatch):
    monkeypatch.setattr(jobs, "RUNNER_MODULES", ["merchant.backfill", "merchant.no_such_runner"])
    jobs.runners_load()
    assert jobs.label_for("backfill") == "Emitir documentos de pedidos anteriores"
    monkeypatch.setattr(jobs, "RUNNER_MODULES", ["tests.merchant.no_such_package.runner"])
    with pytest.raises(ModuleNotFoundError):  # a broken import inside an existing package still fails
        jobs.runners_load()


@pytest.mark.django_db
def test_beat_marks_a_dead_job_failed_and_its_progress_bar_says_so(
    merchant, store, settings, django_capture_on_commit_callbacks
):
    from openfactura_app.celery import app

    assert (
        settings.CELERY_BEAT_SCHEDULE["merchant.recover_stale_jobs"]["task"] == "merchant.recover_stale_jobs"
    )
    assert {"merchant.run_job", "merchant.recover_stale_jobs"} <= set(app.tasks)
    queued = start(store, run=False, capture=django_capture_on_commit_callbacks)  # its message was lost
    BackgroundJob.objects.filter(pk=queued.pk).update(updated_at=timezone.now() - timedelta(minutes=20))
    assert app.tasks["merchant.recover_stale_jobs"].apply().get() == 1
    data = merchant.get(f"/app/trabajos/{queued.pk}/").json()
    assert (data["state"], data["active"]) == ("failed", False)
    assert "dejó de avanzar" in data["error"]


@pytest.mark.django_db
def test_job_posts_without_the_store_field_are_refused(merchant, store, django_capture_on_commit_callbacks):
    from django.test import Client

    job = start(store, run=False, capture=django_capture_on_commit_callbacks)
    token = csrf_token(merchant.get("/app/documentos/anteriores/"))
    for url in (
        f"/app/trabajos/{job.pk}/cancelar",
        "/app/documentos/anteriores/",
        "/app/documentos/reconciliar",
    ):
        data = {"csrfmiddlewaretoken": token, "date_from": "01-11-2026", "date_to": "02-11-2026"}
        assert Client.post(merchant, url, data).status_code == 409, url
    job.refresh_from_db()
    assert job.state == BackgroundJob.State.QUEUED and BackgroundJob.objects.count() == 1
