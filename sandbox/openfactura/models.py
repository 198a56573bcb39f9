"""State of the fake OpenFactura: accepted documents, folio counters, Idempotency-Key claims, faults.

Bodies are kept as the JSON text received (``request_body``) and as the effective DTE text
(``dte_body``), not as ``JSONField``: PostgreSQL's jsonb re-orders keys, and the order of the keys is
part of what the SII (and the control API's readers) care about.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.db import models
from django.utils import timezone


class Document(models.Model):
    """One accepted document (``POST /v2/dte/document`` answered with a TOKEN)."""

    ESTADO_ACEPTADO = "Aceptado"

    token = models.CharField(max_length=64, unique=True)
    api_key_hash = models.CharField(max_length=64, db_index=True)
    rut_emisor = models.CharField(max_length=12)
    tipo = models.PositiveSmallIntegerField()
    folio = models.PositiveIntegerField(null=True, blank=True)  # None: self-service link without boleta
    fch_emis = models.DateField()
    rut_recep = models.CharField(max_length=12, blank=True, default="")
    rut_recep_digits = models.PositiveIntegerField(default=0)  # the issued list filters RUTRecep without DV
    rzn_soc_recep = models.CharField(max_length=100, blank=True, default="")
    mnt_neto = models.BigIntegerField(default=0)
    mnt_exe = models.BigIntegerField(default=0)
    iva = models.BigIntegerField(default=0)
    mnt_total = models.BigIntegerField(default=0)
    idempotency_key = models.CharField(max_length=255, blank=True, default="")  # "" when none was sent
    request_body = models.TextField()  # the JSON text as received
    dte_body = models.TextField()  # the effective DTE (folio assigned), JSON text
    response_parts = models.JSONField(default=list)  # the ``response`` array of the request
    estado = models.CharField(max_length=30, default=ESTADO_ACEPTADO)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["rut_emisor", "tipo", "folio"], name="sbof_document_unique_folio")
        ]

    def __str__(self) -> str:
        return f"{self.tipo} N° {self.folio} ({self.rut_emisor})"

    @property
    def request(self):
        return json.loads(self.request_body)

    @property
    def dte(self) -> dict:
        return json.loads(self.dte_body)

    @property
    def narrow_pdf(self) -> bool:
        return any(part in ("80MM", "80MMNOLOGO") for part in self.response_parts or [])


class FolioCounter(models.Model):
    """Next folio per (emisor, tipo); taken under ``select_for_update``."""

    rut_emisor = models.CharField(max_length=12)
    tipo = models.PositiveSmallIntegerField()
    next_folio = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rut_emisor", "tipo"], name="sbof_folio_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.rut_emisor} {self.tipo}: {self.next_folio}"


class IdempotencyClaim(models.Model):
    """An ``Idempotency-Key`` of one API key, valid 24 h from its first use (openfactura-api.md §2.1).

    Created (and committed) before the document; ``document`` is empty while the emission is in flight.
    The unique constraint is what makes concurrent duplicates safe on every database. ``rejected``: the
    key was consumed by a rejected request (fault ``reject_consumes_key``): no document, never stale, a
    repeat gets OF-06 without a token until it expires.
    """

    api_key_hash = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.CASCADE)
    rejected = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key_hash", "key"], name="sbof_idempotency_unique_key")
        ]

    def __str__(self) -> str:
        return self.key


class Faults(models.Model):
    """The fault-injection settings: one row (pk 1), read by every process on every API request."""

    SCOPES = [("all", "all"), ("emit", "emit"), ("read", "read")]
    OF06_TOKEN_IN = [("both", "both"), ("top", "top"), ("details", "details")]

    latency_ms = models.PositiveIntegerField(default=0)
    error_rate = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=10, blank=True, default="")
    timeout = models.BooleanField(default=False)
    timeout_seconds = models.FloatField(null=True, blank=True)
    timeout_after_emit = models.BooleanField(default=False)
    down_until = models.DateTimeField(null=True, blank=True)
    remaining = models.IntegerField(null=True, blank=True)  # None: no limit on the failing requests
    scope = models.CharField(max_length=4, choices=SCOPES, default="all")
    estado = models.CharField(max_length=30, blank=True, default="")
    rate_limit = models.JSONField(null=True, blank=True)  # None: the setting
    reject_consumes_key = models.BooleanField(default=False)  # a rejected request keeps its Idempotency-Key
    of06_token_in = models.CharField(max_length=7, choices=OF06_TOKEN_IN, default="both")  # OF-06's token
    version = models.PositiveIntegerField(default=0)  # bumped on every change: wakes stalled requests
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "faults"

    def __str__(self) -> str:
        return f"faults v{self.version}"

    @classmethod
    def current(cls) -> Faults:
        return cls.objects.filter(pk=1).first() or cls(pk=1)

    def down_for(self, now=None) -> timedelta | None:
        now = now or timezone.now()
        if self.down_until and self.down_until > now:
            return self.down_until - now
        return None
