"""Emission state: the merchant's OpenFactura settings, every document and every attempt to send it.

Exactly-once rests on the database, not on delivery: one ``Document`` row per (store, order, purpose)
(unique constraint), created before anything is sent, carrying the deterministic ``Idempotency-Key``
that every retry reuses; its ``state`` only moves forward through guarded conditional updates
(``emission.services``).
"""

from __future__ import annotations

import json

from django.db import models
from django.db.models import Q

from core.fields import EncryptedTextField


class EmissionMode(models.IntegerChoices):
    # Numbered as in the help article of OpenFactura's own Jumpseller plugin (openfactura-api.md §4.1).
    BOLETA = 1, "Modo 1 — Boleta al pagar"
    BOLETA_CONVERTIBLE = 2, "Modo 2 — Boleta al pagar, con enlace para cambiarla por factura"
    LINK_BOLETA_O_FACTURA = 3, "Modo 3 — Sin documento al pagar: el enlace permite elegir boleta o factura"
    LINK_SOLO_BOLETA = 4, "Modo 4 — Sin documento al pagar: el enlace emite solo boleta"


class UntaxedItems(models.TextChoices):
    EXEMPT = "exempt", "Exentos"
    TAXED = "taxed", "Afectos (IVA incluido)"


class EmissionSettings(models.Model):
    """One store's OpenFactura configuration. Created with the store's first use: demo mode, mode 2."""

    store = models.OneToOneField(
        "integration.Store", on_delete=models.CASCADE, related_name="emission_settings"
    )
    demo_mode = models.BooleanField(default=True)
    api_key = EncryptedTextField(blank=True, default="")
    mode = models.PositiveSmallIntegerField(
        choices=EmissionMode.choices, default=EmissionMode.BOLETA_CONVERTIBLE
    )
    organization = models.JSONField(default=dict, blank=True)  # last GET /v2/dte/organization
    organization_fetched_at = models.DateTimeField(null=True, blank=True)
    acteco = models.CharField(max_length=6, blank=True, default="")
    sucursal = models.CharField(max_length=20, blank=True, default="")
    untaxed_items = models.CharField(max_length=10, choices=UntaxedItems.choices, default=UntaxedItems.EXEMPT)
    factura_directa = models.BooleanField(default=False)
    email_customer = models.BooleanField(default=True)
    email_copy_merchant = models.BooleanField(default=False)
    merchant_email = models.EmailField(blank=True, default="")
    # Demo documents never reach customers: their emails go here instead (the merchant's address, first
    # taken from the store's Jumpseller info); empty → demo documents are emailed to nobody.
    demo_recipient_email = models.EmailField(blank=True, default="")
    demo_attach_documents = models.BooleanField(default=False)  # attach demo documents in Jumpseller
    # How Jumpseller took ``document_type`` on ``POST /orders/{id}/documents.json`` for this store (the OAS
    # declares an integer but its enum and samples are strings, jumpseller-api.md §2.6): "" not known yet
    # (the documented string is sent first), "string" or "integer". Kept here, not in the cache, so it
    # survives a Redis loss and a deploy: re-learning costs one refused request per store.
    jumpseller_document_type_form = models.CharField(
        max_length=7, blank=True, default="", choices=[("string", "Texto"), ("integer", "Número")]
    )
    queue_paused = models.BooleanField(default=False)
    queue_paused_reason = models.CharField(max_length=300, blank=True, default="")
    queue_paused_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"EmissionSettings(store={self.store_id})"


class DocumentKind(models.TextChoices):
    BOLETA = "boleta", "Boleta"
    FACTURA = "factura", "Factura"
    NOTA_CREDITO = "nota_credito", "Nota de crédito"


class DocumentState(models.TextChoices):
    PENDING = "pending", "Pendiente"
    SENDING = "sending", "Enviando"
    FAILED_RETRYING = "failed_retrying", "Falló, se reintentará"
    REQUIRES_REVIEW = "requires_review", "Requiere revisión"
    EMITTED = "emitted", "Emitido"
    # The merchant handled it by hand ("Marcar como resuelto", e.g. issued elsewhere): never sent again.
    RESOLVED = "resolved", "Resuelto a mano"


# Forward-only transitions (the guarded update in services refuses any other).
TRANSITIONS: dict[str, set[str]] = {
    DocumentState.PENDING: {
        DocumentState.SENDING,
        DocumentState.FAILED_RETRYING,  # its build could not reach OpenFactura (issuer data)
        DocumentState.REQUIRES_REVIEW,
    },
    DocumentState.SENDING: {
        DocumentState.EMITTED,
        DocumentState.FAILED_RETRYING,
        DocumentState.REQUIRES_REVIEW,
    },
    # A late answer (its lease expired meanwhile) still records the token: a token is never discarded.
    DocumentState.FAILED_RETRYING: {
        DocumentState.SENDING,
        DocumentState.REQUIRES_REVIEW,
        DocumentState.EMITTED,
    },
    # The merchant fixes the cause and presses "Reintentar": back to pending, same key (the next key
    # revision when OpenFactura rejected it: taken with the rejection, see ``Document.idempotency_key``).
    # Or the merchant marks it resolved by hand: it leaves the review list and is never sent.
    DocumentState.REQUIRES_REVIEW: {DocumentState.PENDING, DocumentState.RESOLVED},
    DocumentState.EMITTED: set(),
    DocumentState.RESOLVED: set(),
}

TIPO_NAMES = {
    33: "Factura electrónica",
    34: "Factura exenta electrónica",
    39: "Boleta electrónica",
    41: "Boleta exenta electrónica",
    61: "Nota de crédito electrónica",
}


class Document(models.Model):
    """One tax document the product owes for an order, from its creation to its emission."""

    store = models.ForeignKey("integration.Store", on_delete=models.CASCADE, related_name="documents")
    order_id = models.BigIntegerField()
    # What this document is for within the order: "boleta", "factura", "nc:<document id>" (annuls
    # that document), "nc-parcial:<n>". Unique per (store, order): the exactly-once invariant.
    purpose = models.CharField(max_length=40)
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    tipo = models.PositiveSmallIntegerField(null=True, blank=True)
    state = models.CharField(max_length=20, choices=DocumentState.choices, default=DocumentState.PENDING)
    demo = models.BooleanField(default=True)
    # The key sent to OpenFactura now: ``js:{store}:{order}:{created}:{purpose}`` at revision 0, then
    # ``…:r{n}``. A revision is taken only after a rejection that created nothing (a data error): OpenFactura
    # may keep the key of a rejected request, and the corrected body must not meet OF-06 without a token.
    idempotency_key = models.CharField(max_length=200, unique=True)
    key_revision = models.PositiveSmallIntegerField(default=0)
    annuls = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="notas")

    order_number = models.CharField(max_length=40, blank=True, default="")
    order_created_at = models.DateTimeField(null=True, blank=True)
    customer_email = models.EmailField(blank=True, default="")
    customer_name = models.CharField(max_length=200, blank=True, default="")
    receptor = models.JSONField(null=True, blank=True)
    # Buyer data the merchant corrected ("Corregir datos del receptor"): every later build of this factura
    # uses it instead of the order's billing data (``rut``, ``razon_social``, ``giro``, ``direccion``,
    # ``comuna``).
    receptor_override = models.JSONField(null=True, blank=True)

    # The exact JSON POSTed to OpenFactura, as text: key order matters to the SII and OpenFactura, and
    # PostgreSQL's jsonb would reorder it. Read it through ``request_body``.
    request_json = models.TextField(blank=True, default="")
    mnt_neto = models.BigIntegerField(null=True, blank=True)
    mnt_exe = models.BigIntegerField(null=True, blank=True)
    iva = models.BigIntegerField(null=True, blank=True)
    mnt_total = models.BigIntegerField(null=True, blank=True)
    difference = models.IntegerField(default=0)  # MntTotal − what the customer paid (facturas: ±1)
    warnings = models.JSONField(default=list, blank=True)

    token = models.CharField(max_length=128, blank=True, default="")
    folio = models.BigIntegerField(null=True, blank=True)
    fecha_emision = models.DateField(null=True, blank=True)
    pdf = models.BinaryField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)

    error_code = models.CharField(max_length=40, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    emitted_at = models.DateTimeField(null=True, blank=True)

    # The order was canceled in Jumpseller: once this document is emitted it is annulled; if it was never
    # sent it is withdrawn. Recorded before anything else so that no cancellation is lost.
    cancel_requested = models.BooleanField(default=False)
    deliver_attempts = models.PositiveIntegerField(default=0)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_error = models.TextField(blank=True, default="")
    attached_at = models.DateTimeField(null=True, blank=True)
    attach_error = models.TextField(blank=True, default="")
    # "Marcar como resuelto": when, the folio issued elsewhere (optional) and why, as the merchant said.
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_folio = models.BigIntegerField(null=True, blank=True)
    resolved_reason = models.CharField(max_length=200, blank=True, default="")
    # What chose this document's path when it was created (issue 17 §1): the emission rule as it read
    # then ("Regla 2 — Si el origen es Punto de venta (POS) → Modo 1") or "Modo de la tienda" ("" before
    # rules), the mode it chose (None before rules) and why a rule could not be checked, if one could not
    # (e.g. the customer's category was unreadable).
    rule_label = models.CharField(max_length=300, blank=True, default="")
    emission_mode = models.PositiveSmallIntegerField(null=True, blank=True, choices=EmissionMode.choices)
    rule_note = models.CharField(max_length=300, blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "order_id", "purpose"], name="document_once_per_purpose"
            ),
            models.CheckConstraint(
                condition=Q(state="emitted", token__gt="") | ~Q(state="emitted"), name="emitted_has_token"
            ),
        ]
        indexes = [
            models.Index(fields=["store", "state"]),
            models.Index(fields=["store", "-created_at"]),
            models.Index(fields=["state", "next_attempt_at"]),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.tipo or ''} folio {self.folio or '-'} (orden {self.order_id})"

    @property
    def request_body(self) -> dict | None:
        return json.loads(self.request_json) if self.request_json else None

    @property
    def tipo_name(self) -> str:
        return TIPO_NAMES.get(self.tipo or 0, self.get_kind_display())

    @property
    def public_id(self) -> str:
        """The human id Jumpseller shows for an attached document: ``TIPO-FOLIO`` (jumpseller-api §2.6)."""
        return f"{self.tipo}-{self.folio}"


class EmissionAttempt(models.Model):
    """Every call to OpenFactura for a document: what the merchant sees under "intentos"."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="emission_attempts")
    store = models.ForeignKey("integration.Store", on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=30)  # emitted / duplicate / transient / rejected / refused / ...
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=40, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    response_excerpt = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["started_at"]

    def __str__(self) -> str:
        return f"{self.outcome} {self.started_at:%Y-%m-%d %H:%M:%S}"


class CustomerNotice(models.Model):
    """An email owed to a customer that carries no document (modes 3 and 4: the self-service link).
    Unique per (store, order, kind): a duplicate delivery never sends it twice."""

    store = models.ForeignKey("integration.Store", on_delete=models.CASCADE, related_name="customer_notices")
    order_id = models.BigIntegerField()
    kind = models.CharField(max_length=30, default="selfservice_link")
    email = models.EmailField(blank=True, default="")
    # The mode the payment chose for the order (3 or 4; a rule may choose it in a store of another mode):
    # the link's page follows it. None before rules: the store's mode.
    emission_mode = models.PositiveSmallIntegerField(null=True, blank=True, choices=EmissionMode.choices)
    rule_label = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "order_id", "kind"], name="customer_notice_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} orden {self.order_id}"


class OrderOrigin(models.TextChoices):
    """``source.created_from`` of an order (jumpseller-api.md §4.1) as a rule reads it: the four origins the
    merchant picks from, and "otro" for every other value (``duplicate``, ``recovery``, missing, unknown)."""

    CHECKOUT = "checkout", "Tienda en línea (checkout)"
    POS = "pos", "Punto de venta (POS)"
    ADMIN = "admin", "Creado en el panel de Jumpseller"
    API = "api", "Creado por la API"
    OTRO = "otro", "Otro origen"


class EmissionRule(models.Model):
    """One of a store's ordered emission rules (issue 17 §1): when every condition set holds, the order
    is documented in ``mode`` (with or without factura directa) instead of the store's mode. The first
    rule that matches, by ``position``, wins; a condition left empty always holds."""

    store = models.ForeignKey("integration.Store", on_delete=models.CASCADE, related_name="emission_rules")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=80, blank=True, default="")
    customer_category = models.CharField(max_length=100, blank=True, default="")  # Jumpseller's name
    company_rut = models.BooleanField(default=False)  # the buyer gave a company RUT at checkout
    total_min = models.BigIntegerField(null=True, blank=True)  # CLP: total ≥ this
    total_max = models.BigIntegerField(null=True, blank=True)  # CLP: total < this
    origin = models.CharField(max_length=10, blank=True, default="", choices=OrderOrigin.choices)
    mode = models.PositiveSmallIntegerField(choices=EmissionMode.choices)
    factura_directa = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["store", "position"])]

    def __str__(self) -> str:
        return f"regla {self.position} de la tienda {self.store_id}"
