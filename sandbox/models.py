"""State of the fake Jumpseller and of the sandbox mailbox.

Everything here is sandbox-only data (``SANDBOX=1``): tokens are kept in plain text on purpose, so
tests and people can read and edit them (time travel on ``OAuthToken.created_at``).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from django.db import models
from django.utils import timezone as dj_timezone

ACCESS_TOKEN_TTL = 3600  # seconds (jumpseller-api.md §1.2)
AUTHORIZATION_CODE_TTL = 600  # seconds (Doorkeeper's default)


def new_hooks_token() -> str:
    return secrets.token_hex(16)


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Store(models.Model):
    """A Jumpseller store. ``code`` is its subdomain and the ``Jumpseller-Store-Code`` header."""

    INFO_WRAPPED = "wrapped"
    INFO_FLAT = "flat"
    INFO_FORMATS = [(INFO_WRAPPED, 'Envuelto {"store": {...}}'), (INFO_FLAT, "Plano {...}")]

    code = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True, default="")
    hooks_token = models.CharField(max_length=64, default=new_hooks_token)
    currency = models.CharField(max_length=3, default="CLP")
    country = models.CharField(max_length=2, default="CL")
    timezone = models.CharField(max_length=64, default="America/Santiago")
    # Key of the rate-limit counters: unique per store row, so a store re-created with the same code
    # (tests) never inherits the counters of its predecessor.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    store_info_format = models.CharField(max_length=10, choices=INFO_FORMATS, default=INFO_WRAPPED)
    rate_limit_per_second = models.PositiveIntegerField(null=True, blank=True)  # None: the setting
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    @property
    def url(self) -> str:
        return f"https://{self.code}.jumpseller.com"


class OAuthGrant(models.Model):
    """An authorization code: single use, valid for ``AUTHORIZATION_CODE_TTL`` seconds."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="grants")
    code = models.CharField(max_length=128, unique=True, default=new_token)
    client_id = models.CharField(max_length=200)
    redirect_uri = models.CharField(max_length=2000)
    scope = models.CharField(max_length=2000, blank=True, default="")
    created_at = models.DateTimeField(default=dj_timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"grant {self.store_id} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def expired(self) -> bool:
        return dj_timezone.now() > self.created_at + timedelta(seconds=AUTHORIZATION_CODE_TTL)


class OAuthToken(models.Model):
    """An access token and its refresh token. A refresh consumes the refresh token (rotation)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="tokens")
    client_id = models.CharField(max_length=200)
    access_token = models.CharField(max_length=128, unique=True, default=new_token)
    refresh_token = models.CharField(max_length=128, unique=True, default=new_token)
    scope = models.CharField(max_length=2000, blank=True, default="")
    created_at = models.DateTimeField(default=dj_timezone.now)
    expires_in = models.PositiveIntegerField(default=ACCESS_TOKEN_TTL)
    refreshed_at = models.DateTimeField(null=True, blank=True)  # refresh token used up
    revoked_at = models.DateTimeField(null=True, blank=True)  # both tokens dead

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"token {self.store_id} …{self.access_token[-4:]}"

    @property
    def expires_at(self):
        return self.created_at + timedelta(seconds=self.expires_in)

    @property
    def expired(self) -> bool:
        return dj_timezone.now() >= self.expires_at

    @property
    def scopes(self) -> set[str]:
        return set(self.scope.split())


class Order(models.Model):
    """A Jumpseller order kept as its JSON payload (the ``order`` object, unwrapped)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="orders")
    order_id = models.BigIntegerField()
    status_enum = models.CharField(max_length=32, db_index=True)
    created_at = models.DateTimeField(default=dj_timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    payload = models.JSONField()

    class Meta:
        ordering = ["-order_id"]
        constraints = [models.UniqueConstraint(fields=["store", "order_id"], name="sandbox_order_unique_id")]

    def __str__(self) -> str:
        return f"{self.store.code}#{self.order_id}"


class CustomerCategory(models.Model):
    """A customer category of the store (Jumpseller's "Categorías de clientes", e.g. "Mayoristas")."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="customer_categories")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "name"], name="sandbox_customer_category_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """A customer of the store, as ``GET /customers/{id}.json`` answers it (OAS ``CustomerFields``)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="customers")
    customer_id = models.BigIntegerField()
    email = models.EmailField(blank=True, default="")
    name = models.CharField(max_length=200, blank=True, default="")
    surname = models.CharField(max_length=200, blank=True, default="")
    phone = models.CharField(max_length=40, blank=True, default="")
    status = models.CharField(max_length=10, default="approved")  # approved / pending / disabled
    categories = models.ManyToManyField(CustomerCategory, blank=True, related_name="customers")

    class Meta:
        ordering = ["customer_id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "customer_id"], name="sandbox_customer_unique_id")
        ]

    def __str__(self) -> str:
        return f"{self.store.code} cliente {self.customer_id}"


class Hook(models.Model):
    """A webhook registered through ``POST /hooks.json``."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="hooks")
    event = models.CharField(max_length=64)
    url = models.CharField(max_length=2000)
    name = models.CharField(max_length=200, blank=True, default="")  # "" is null in the API
    application_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.event} → {self.url}"


class OrderDocument(models.Model):
    """A document attached with ``POST /orders/{id}/documents.json``."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="documents")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="documents")
    document_type = models.PositiveSmallIntegerField()  # 0 credit note, 1 invoice
    external_id = models.CharField(max_length=500, blank=True, default="")  # "" is null in the API
    public_id = models.CharField(max_length=500)
    url = models.CharField(max_length=2000, blank=True, default="")
    app_code = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=dj_timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "public_id"], name="sandbox_document_unique_public_id")
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.document_type})"


class OrderHistory(models.Model):
    """A timeline note added with ``POST /orders/{id}/history.json``."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    message = models.TextField()
    log = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.message[:50]


class WebhookDelivery(models.Model):
    """One HTTP attempt to deliver a webhook. Attempts of one message share ``message_id``."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="deliveries")
    hook = models.ForeignKey(
        Hook, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    message_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    event = models.CharField(max_length=64)
    order_id = models.BigIntegerField(null=True, blank=True)
    url = models.CharField(max_length=2000)
    body = models.TextField()
    triggered_at = models.CharField(max_length=40)  # the Jumpseller-Triggered-At header, kept on retries
    attempt = models.PositiveSmallIntegerField(default=1)
    status = models.PositiveSmallIntegerField(null=True, blank=True)  # None: no HTTP answer
    error = models.TextField(blank=True, default="")
    response_body = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=dj_timezone.now)
    next_retry_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.event} #{self.order_id} attempt {self.attempt}: {self.status}"

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Email(models.Model):
    """A message the product sent through ``sandbox.mail.EmailBackend``."""

    from_email = models.CharField(max_length=500, blank=True, default="")
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list)
    bcc = models.JSONField(default=list)
    reply_to = models.JSONField(default=list)
    subject = models.CharField(max_length=1000, blank=True, default="")
    text_body = models.TextField(blank=True, default="")
    html_body = models.TextField(blank=True, default="")
    sent_at = models.DateTimeField(default=dj_timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.subject


class EmailAttachment(models.Model):
    email = models.ForeignKey(Email, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=500)
    content_type = models.CharField(max_length=200, default="application/octet-stream")
    content = models.BinaryField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename
