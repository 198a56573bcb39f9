"""Stores that installed the app, the hooks registered on them, OAuth states and received webhooks.

Every row that belongs to a merchant hangs from ``Store``; queries are always scoped to one store.
Secrets (access and refresh tokens, the hooks token) are encrypted at rest (``core.fields``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone as dj_timezone

from core.fields import EncryptedTextField

EVENT_LABELS = {
    "order_paid": "Pedido pagado",
    "order_canceled": "Pedido anulado",
    "order_updated": "Pedido actualizado",
    "order_pending_payment": "Pedido creado",
    "order_shipped": "Pedido despachado",
}


class Store(models.Model):
    """A Jumpseller store (tenant), keyed by its ``code`` (the subdomain, ``Jumpseller-Store-Code``)."""

    class Status(models.TextChoices):
        CONNECTED = "connected", "Conectada"
        DISCONNECTED = "disconnected", "Desconectada"  # Jumpseller refused our tokens: reconnect
        UNINSTALLED = "uninstalled", "Desinstalada"  # the merchant disconnected the app

    code = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=200, blank=True, default="")
    url = models.URLField(max_length=500, blank=True, default="")
    currency = models.CharField(max_length=3, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="")
    timezone = models.CharField(max_length=64, blank=True, default="")
    email = models.CharField(max_length=254, blank=True, default="")
    access_token = EncryptedTextField(blank=True, default="")
    refresh_token = EncryptedTextField(blank=True, default="")
    hooks_token = EncryptedTextField(blank=True, default="")  # HMAC key of the store's webhooks
    token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=1000, blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONNECTED)
    disconnected_reason = models.CharField(max_length=500, blank=True, default="")
    installed_at = models.DateTimeField(default=dj_timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def __repr__(self) -> str:  # never show the secrets
        return f"<Store {self.pk} {self.code} {self.status}>"

    @property
    def is_connected(self) -> bool:
        return self.status == self.Status.CONNECTED


class StoreHook(models.Model):
    """A webhook the app registered on the store (its Jumpseller id, to check and delete it later)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="hooks")
    event = models.CharField(max_length=64)
    url = models.URLField(max_length=500)
    hook_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "event"], name="storehook_one_per_event")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.event} #{self.hook_id}"

    @property
    def event_label(self) -> str:
        return EVENT_LABELS.get(self.event, self.event)


class OAuthState(models.Model):
    """The ``state`` of one authorization request: random, single use, short-lived.

    Only its SHA-256 is kept; the browser that started the flow also holds it in its session.
    """

    state_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=dj_timezone.now, db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"state {self.state_hash[:8]}…"


class EmbeddedHandoff(models.Model):
    """A connection started in the admin's iframe and authorized in a top-level window (issue 15.11).

    The iframe's page holds a random secret (only its SHA-256 is kept). It hands the secret to the window
    it opened (``postMessage``, which no other browser can do), that window's session takes it to the
    OAuth round trip, and the callback binds the store here; the iframe then claims it once with the
    secret and gets its own merchant session. Short-lived and single use.
    """

    secret_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=dj_timezone.now, db_index=True)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    bound_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"handoff {self.secret_hash[:8]}…"


# Statuses of the one row per (store, event, order) that is work; the others are records only.
WORK_STATUSES = ["received", "dispatched", "processed"]


class WebhookEvent(models.Model):
    """One verified delivery of a Jumpseller webhook, as received (every delivery is a row).

    Only one row per ``(store, dedupe_key)`` is *work* (received → dispatched → processed); a delivery
    of the same event for the same order while that row exists is recorded as ``duplicate``.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Recibida"  # stored; its task is not (known to be) queued
        DISPATCHED = "dispatched", "En cola"
        PROCESSED = "processed", "Procesada"
        DUPLICATE = "duplicate", "Duplicada"
        INVALID = "invalid", "Inválida"
        IGNORED = "ignored", "Ignorada"
        FAILED = "failed", "Fallida"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="webhook_events")
    event = models.CharField(max_length=64)
    order_id = models.BigIntegerField(null=True, blank=True)
    raw_body = models.BinaryField(default=b"")
    headers = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=dj_timezone.now)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    dedupe_key = models.CharField(max_length=100, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "dedupe_key"],
                condition=Q(status__in=WORK_STATUSES),
                name="webhookevent_one_work_item",
            )
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="webhookevent_status_received"),
            models.Index(fields=["store", "order_id"], name="webhookevent_store_order"),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.order_id} ({self.status})"

    @property
    def event_label(self) -> str:
        return EVENT_LABELS.get(self.event, self.event)
