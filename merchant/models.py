"""The merchant's audit trail: who changed which setting, and when (never a secret's value)."""

from __future__ import annotations

from django.db import models


class AuditEntry(models.Model):
    """One saved change of a store's settings, as the merchant reads it ("what" is Spanish text)."""

    store = models.ForeignKey("integration.Store", on_delete=models.CASCADE, related_name="audit_entries")
    who = models.CharField(max_length=200)
    when = models.DateTimeField(auto_now_add=True)
    what = models.TextField()

    class Meta:
        ordering = ["-when", "-pk"]
        indexes = [models.Index(fields=["store", "-when"])]

    def __str__(self) -> str:
        return f"{self.when:%Y-%m-%d %H:%M} {self.who}: {self.what[:60]}"


class MerchantAlert(models.Model):
    """One episode of a situation the merchant must act on (the queue paused itself, documents need
    review, OpenFactura rejected the API key): opened once, emailed once, closed once resolved.

    At most one open episode per (store, kind), a database constraint: the documents of one episode never
    send a second email, and a new episode (a new email) starts only after the last one was resolved."""

    class Kind(models.TextChoices):
        QUEUE_PAUSED = "queue_paused", "La emisión se pausó sola"
        REVIEW = "review", "Documentos que requieren revisión"
        API_KEY_REJECTED = "api_key_rejected", "OpenFactura rechazó la API key"

    store = models.ForeignKey("integration.Store", on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "kind"],
                condition=models.Q(resolved_at__isnull=True),
                name="merchantalert_one_open_episode",
            )
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.kind} {'resuelta' if self.resolved_at else 'abierta'}"


class BackgroundJob(models.Model):
    """One long piece of a store's work run outside the request (``merchant.jobs``): a backfill, a
    reconciliation. Its counts are what the progress bar shows.

    At most one job queued or running per store, a database constraint (two clicks, two tabs, two web
    processes cannot start two). ``updated_at`` is the heartbeat: a job that stopped beating (its worker
    died) is marked failed by ``merchant.jobs.jobs_recover_stale``, so the store can start another."""

    class State(models.TextChoices):
        QUEUED = "queued", "En cola"
        RUNNING = "running", "En curso"
        DONE = "done", "Terminado"
        CANCELLED = "cancelled", "Cancelado"
        FAILED = "failed", "Falló"

    ACTIVE_STATES = (State.QUEUED, State.RUNNING)

    store = models.ForeignKey("integration.Store", on_delete=models.CASCADE, related_name="background_jobs")
    kind = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    who = models.CharField(max_length=200, blank=True, default="")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(null=True, blank=True)
    done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=dict, blank=True)  # reason (Spanish) → count
    result = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now_add=True)  # the heartbeat, set by every progress write

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["store", "kind", "-created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["store"],
                condition=models.Q(state__in=["queued", "running"]),
                name="backgroundjob_one_active_per_store",
            )
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.kind} {self.state}"

    @property
    def active(self) -> bool:
        return self.state in self.ACTIVE_STATES
