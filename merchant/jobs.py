"""Background jobs of a store: long work (a backfill, a reconciliation) run by a worker with a progress bar.

A kind of job is a runner registered with :func:`register` (``run(job, progress) -> dict``), in one of the
``RUNNER_MODULES`` imported at startup. :func:`job_start` queues one (at most one queued or running per
store, a database constraint), the Celery task ``merchant.run_job`` runs it, and the runner reports through
:class:`Progress` (total, one ``advance`` per item with what it created or skipped and why) and stops when
:meth:`Progress.cancelled`. The page includes ``merchant/_job_progress.html``, which polls :func:`job_view`.

Locally (Celery eager) a job runs in the caller's process: inline (tests, commands) or, with
``BACKGROUND_JOBS_IN_THREAD`` (the dev server of ``./run``), in a thread so the page shows it advancing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, close_old_connections, connections, transaction
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core import queue
from integration.decorators import merchant_required, store_object_or_404

from .models import BackgroundJob

logger = logging.getLogger(__name__)

# Modules that register runners; one that does not exist (yet) is skipped.
RUNNER_MODULES = ["merchant.backfill", "merchant.f29_reconcile"]
TASK = "merchant.run_job"
HEARTBEAT_SECONDS = 10


class JobRefused(Exception):
    """The store cannot start this job now; ``message`` is for the merchant (Spanish)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Runner:
    kind: str
    run: Callable[[BackgroundJob, Progress], dict]
    label: str


_RUNNERS: dict[str, Runner] = {}


def register(kind: str, runner: Callable[[BackgroundJob, Progress], dict], *, label: str) -> None:
    """Make ``kind`` startable; ``label`` is how the merchant reads it ("Emitir documentos de …")."""
    _RUNNERS[kind] = Runner(kind=kind, run=runner, label=label)


def runner_for(kind: str) -> Runner:
    try:
        return _RUNNERS[kind]
    except KeyError:
        raise ValueError(f"no background job runner registered for {kind!r}") from None


def label_for(kind: str) -> str:
    runner = _RUNNERS.get(kind)
    return runner.label if runner else kind


def runners_load() -> None:
    """Import the ``RUNNER_MODULES`` (``MerchantConfig.ready``); a module not written yet is skipped."""
    for name in RUNNER_MODULES:
        try:
            import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def stale_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "BACKGROUND_JOB_STALE_SECONDS", 900))


# --- Progress ---------------------------------------------------------------------------------------
class Progress:
    """What a runner reports; every write is also the job's heartbeat. Only the job's runner writes, so
    the skipped reasons are kept here and written whole."""

    def __init__(self, job: BackgroundJob) -> None:
        self.job_id = job.pk
        self.store_id = job.store_id
        self._skipped: dict[str, int] = dict(job.skipped or {})
        self._beat = timezone.now()

    def _update(self, **fields: Any) -> None:
        self._beat = timezone.now()
        BackgroundJob.objects.filter(pk=self.job_id, store_id=self.store_id).update(
            updated_at=self._beat, **fields
        )

    def set_total(self, n: int) -> None:
        self._update(total=max(0, int(n)))

    def advance(self, created: int = 0, skipped: dict[str, int] | None = None) -> None:
        """One item done: ``created`` documents (or results) made, ``skipped`` reason → count."""
        for reason, count in (skipped or {}).items():
            self._skipped[reason] = self._skipped.get(reason, 0) + int(count)
        self._update(done=F("done") + 1, created=F("created") + int(created), skipped=dict(self._skipped))

    def cancelled(self) -> bool:
        """True once the merchant pressed Cancelar, or once the job is no longer running (marked failed by
        :func:`jobs_recover_stale` while its process still ran): the runner stops at its next item."""
        if timezone.now() - self._beat > timedelta(seconds=HEARTBEAT_SECONDS):
            self._update()
        return not BackgroundJob.objects.filter(
            pk=self.job_id, store_id=self.store_id, state=BackgroundJob.State.RUNNING, cancel_requested=False
        ).exists()


# --- Start, cancel, recover --------------------------------------------------------------------------
def jobs_recover_stale(*, store_id: int | None = None) -> int:
    """Queued or running jobs whose heartbeat stopped (the worker died, the message was lost) are marked
    failed, so the store is not blocked forever; returns how many."""
    now = timezone.now()
    rows = BackgroundJob.objects.filter(
        state__in=BackgroundJob.ACTIVE_STATES, updated_at__lt=now - stale_after()
    )
    if store_id is not None:
        rows = rows.filter(store_id=store_id)
    if not rows.exists():  # the usual case, read-only: the page polls this every second
        return 0
    count = rows.update(
        state=BackgroundJob.State.FAILED,
        finished_at=now,
        error=(
            "El trabajo dejó de avanzar (el proceso que lo ejecutaba se detuvo). Puedes empezarlo de nuevo: "
            "lo que ya se hizo no se repite."
        ),
    )
    if count:
        logger.warning("marked %d stale background jobs as failed", count)
    return count


def job_active(*, store_id: int) -> BackgroundJob | None:
    return BackgroundJob.objects.filter(store_id=store_id, state__in=BackgroundJob.ACTIVE_STATES).first()


def job_start(*, store_id: int, kind: str, params: dict, who: str = "") -> BackgroundJob:
    """Queue a ``kind`` job for the store; :class:`JobRefused` while another is queued or running."""
    runner = runner_for(kind)
    jobs_recover_stale(store_id=store_id)
    try:
        with transaction.atomic():
            job = BackgroundJob.objects.create(store_id=store_id, kind=kind, params=params, who=who[:200])
    except IntegrityError:
        other = job_active(store_id=store_id)
        name = f"«{label_for(other.kind)}»" if other else "otro trabajo"
        raise JobRefused(
            f"Ya hay un trabajo en curso en tu tienda ({name}). Espera a que termine o cancélalo antes de "
            f"empezar «{runner.label}»."
        ) from None
    transaction.on_commit(lambda: _dispatch(job.pk))
    return job


def job_cancel(*, store_id: int, job_id: int) -> BackgroundJob:
    """A queued job is cancelled now; a running one stops at its runner's next item (what it already
    created stays). ``BackgroundJob.DoesNotExist`` for another store's job."""
    job = BackgroundJob.objects.get(pk=job_id, store_id=store_id)
    now = timezone.now()
    BackgroundJob.objects.filter(pk=job.pk, state=BackgroundJob.State.QUEUED).update(
        state=BackgroundJob.State.CANCELLED, cancel_requested=True, finished_at=now, updated_at=now
    )
    BackgroundJob.objects.filter(pk=job.pk, state=BackgroundJob.State.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def _dispatch(job_id: int) -> None:
    if queue.is_eager() and getattr(settings, "BACKGROUND_JOBS_IN_THREAD", False):
        _run_in_thread(job_id)
        return
    try:
        queue.publish(TASK, job_id)
    except Exception:  # noqa: BLE001 - the broker is down: say so now rather than leave it queued
        logger.exception("could not queue background job %s", job_id)
        _finish(
            job_id,
            BackgroundJob.State.FAILED,
            error="No se pudo poner el trabajo en cola. Inténtalo de nuevo.",
        )


def _run_in_thread(job_id: int) -> None:
    """Eager runs of the dev server: the job advances beside the requests that poll it. An in-memory
    SQLite database (tests) is shared with the thread, as Django's live server shares it."""
    shared = connections["default"]
    in_memory = shared.vendor == "sqlite" and shared.is_in_memory_db()
    if in_memory:
        shared.inc_thread_sharing()

    def target() -> None:
        if in_memory:
            connections["default"] = shared
        try:
            job_run(job_id)
        finally:
            if in_memory:
                shared.dec_thread_sharing()
            else:
                close_old_connections()
                connections.close_all()

    threading.Thread(target=target, name=f"job-{job_id}", daemon=True).start()


# --- Running -----------------------------------------------------------------------------------------
def _finish(job_id: int, state: str, **fields: Any) -> None:
    now = timezone.now()
    BackgroundJob.objects.filter(pk=job_id, state__in=BackgroundJob.ACTIVE_STATES).update(
        state=state, finished_at=now, updated_at=now, **fields
    )


def _failure_message(exc: Exception) -> str:
    from integration.client import JumpsellerError
    from integration.services import StoreDisconnected

    if isinstance(exc, StoreDisconnected):
        return "La tienda está desconectada de Jumpseller: reconéctala y vuelve a empezar."
    if isinstance(exc, JumpsellerError):
        return "Jumpseller no respondió. Vuelve a empezar en unos minutos: lo que ya se hizo no se repite."
    return "El trabajo se detuvo por un error inesperado. Vuelve a empezar: lo que ya se hizo no se repite."


def job_run(job_id: int) -> str:
    """Claim a queued job and run it to its end; returns its final state."""
    now = timezone.now()
    claimed = BackgroundJob.objects.filter(pk=job_id, state=BackgroundJob.State.QUEUED).update(
        state=BackgroundJob.State.RUNNING, started_at=now, updated_at=now
    )
    if not claimed:
        return "not_claimed"
    job = BackgroundJob.objects.get(pk=job_id)
    progress = Progress(job)
    try:
        result = runner_for(job.kind).run(job, progress) or {}
    except Exception as exc:  # noqa: BLE001 - any failure ends the job, recorded for the merchant
        logger.exception("background job %s (%s) failed", job.pk, job.kind)
        _finish(job.pk, BackgroundJob.State.FAILED, error=_failure_message(exc)[:500])
        return BackgroundJob.State.FAILED
    # Every item processed is done, even if Cancelar was pressed after the last one.
    job.refresh_from_db(fields=["total", "done"])
    finished = job.total is not None and job.done >= job.total
    state = (
        BackgroundJob.State.DONE if finished or not progress.cancelled() else BackgroundJob.State.CANCELLED
    )
    _finish(job.pk, state, result=result)
    return state


@shared_task(name=TASK, serializer="json", acks_late=False, time_limit=3900, soft_time_limit=3600)
def run_job(job_id: int) -> str:
    """Acknowledged on receipt: a worker that dies mid-job leaves it to :func:`jobs_recover_stale`
    (the merchant starts it again; every runner is safe to run twice)."""
    return job_run(job_id)


@shared_task(name="merchant.recover_stale_jobs", serializer="json")
def recover_stale_jobs() -> int:
    return jobs_recover_stale()


# --- What the page shows -----------------------------------------------------------------------------
def job_status(job: BackgroundJob) -> dict[str, Any]:
    """The job as the progress bar and its JSON endpoint read it."""
    total = job.total
    percent = 100 if total == 0 else (min(100, job.done * 100 // total) if total else 0)
    return {
        "id": job.pk,
        "kind": job.kind,
        "label": label_for(job.kind),
        "state": job.state,
        "state_label": job.get_state_display(),
        "active": job.active,
        "cancel_requested": job.cancel_requested,
        "done": job.done,
        "total": total,
        "percent": percent,
        "created": job.created,
        "skipped": [{"reason": r, "count": c} for r, c in sorted((job.skipped or {}).items())],
        "skipped_total": sum((job.skipped or {}).values()),
        "result": job.result or {},
        "error": job.error,
        "params": job.params or {},
    }


def job_latest(*, store_id: int, kinds: list[str] | tuple[str, ...]) -> BackgroundJob | None:
    """The store's newest job of ``kinds`` (after marking stale ones failed), for the page to show."""
    jobs_recover_stale(store_id=store_id)
    return BackgroundJob.objects.filter(store_id=store_id, kind__in=kinds).first()


@never_cache
@require_GET
@merchant_required
def job_view(request: HttpRequest, pk: int) -> JsonResponse:
    jobs_recover_stale(store_id=request.store.pk)
    job = store_object_or_404(request, BackgroundJob, pk=pk)
    return JsonResponse(job_status(job))


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return "/app/"


@never_cache
@require_POST
@merchant_required
def job_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    from django.contrib import messages

    try:
        job = job_cancel(store_id=request.store.pk, job_id=pk)
    except BackgroundJob.DoesNotExist:
        raise Http404 from None
    if job.state == BackgroundJob.State.CANCELLED:
        messages.success(request, f"Cancelaste «{label_for(job.kind)}».")
    elif job.active:
        messages.info(
            request,
            f"Cancelando «{label_for(job.kind)}»: se detiene en el próximo paso. Lo ya hecho se mantiene.",
        )
    else:
        messages.info(request, f"«{label_for(job.kind)}» ya había terminado.")
    return redirect(_back(request))
