"""Alerts to the merchant (issue 15 §7): one email per episode and a banner on every merchant page.

Three situations need the merchant: the queue paused itself (OpenFactura kept failing, or a real store has
no API key), documents wait in "requiere revisión", and OpenFactura rejected the API key. Each is an
*episode* (``merchant.MerchantAlert``): opened by the first document or pause that shows it, emailed once
to the store's address, closed once the situation is over (``merchant_alerts_settle``: on resume, on retry
and every minute by the sweep). The banner is read from the live state, so it goes away as soon as the
situation does."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from emission.models import Document, DocumentState, EmissionSettings
from emission.services.configuration import (
    API_KEY_FORGOTTEN,
    API_KEY_MISSING,
    emission_settings_for,
    store_email_for,
)
from merchant.models import MerchantAlert

logger = logging.getLogger(__name__)

Kind = MerchantAlert.Kind
MAX_EMAIL_ATTEMPTS = 5
NOT_SENT = "No enviado:"  # prefix of a permanent reason (no address): never retried


@dataclass(frozen=True)
class AlertText:
    """What the merchant reads, in the banner and in the email: plain Spanish and one thing to do."""

    kind: str
    title: str
    detail: str
    action: str
    path: str  # the merchant page where it is fixed

    @property
    def url(self) -> str:
        return f"{settings.PUBLIC_BASE_URL}{self.path}"


def _auth_error_reason() -> str:
    from emission.services.documents import AUTH_ERROR_REASON  # documents imports this module

    return AUTH_ERROR_REASON


def _key_missing(cfg: EmissionSettings) -> bool:
    return cfg.queue_paused and cfg.queue_paused_reason in (API_KEY_MISSING, API_KEY_FORGOTTEN)


def _situation(cfg: EmissionSettings, review: int) -> dict[str, bool]:
    """Which of the three situations hold now, from the store's real state."""
    key_rejected = cfg.queue_paused and cfg.queue_paused_reason == _auth_error_reason()
    return {
        Kind.API_KEY_REJECTED: key_rejected,
        Kind.QUEUE_PAUSED: cfg.queue_paused and not key_rejected,
        Kind.REVIEW: review > 0,
    }


# Documents that wait in "requiere revisión" for the record with nothing to do about them — withdrawn
# because their order was canceled before they were sent, or an order's annulling nota when partial notas
# had already credited everything — are no reason to alert the merchant.
NOTHING_TO_DO = ("order_canceled", "nothing_remains")


def _needing_action():
    return Document.objects.filter(state=DocumentState.REQUIRES_REVIEW).exclude(error_code__in=NOTHING_TO_DO)


def _review_count(store_id: int) -> int:
    return _needing_action().filter(store_id=store_id).count()


def _describe(kind: str, cfg: EmissionSettings, review: int) -> AlertText:
    waiting = "Los pedidos pagados esperan en la cola y no se pierde ninguno."
    if kind == Kind.API_KEY_REJECTED:
        return AlertText(
            kind,
            "OpenFactura rechazó tu API key",
            f"No estamos emitiendo documentos. {waiting} Ingresa una API key válida en Configuración y "
            "luego reanuda la cola.",
            "Revisar la API key",
            reverse("merchant:configuration"),
        )
    if kind == Kind.QUEUE_PAUSED and _key_missing(cfg):
        return AlertText(
            kind,
            "La emisión de documentos está en pausa",
            f"Tu tienda emite documentos reales y no tiene API key de OpenFactura. {waiting} Ingresa tu "
            "API key en Configuración y luego reanuda la cola.",
            "Ingresar la API key",
            reverse("merchant:configuration"),
        )
    if kind == Kind.QUEUE_PAUSED:
        return AlertText(
            kind,
            "La emisión de documentos se pausó sola",
            f"OpenFactura no respondió a varios intentos seguidos, así que dejamos de enviarle documentos. "
            f"{waiting} Cuando OpenFactura vuelva a funcionar, reanuda la cola.",
            "Ir a la Cola",
            reverse("merchant:queue"),
        )
    many = review != 1
    return AlertText(
        kind,
        f"{review} documento{'s' if many else ''} requiere{'n' if many else ''} tu revisión",
        f"No se emitirá{'n' if many else ''} hasta que lo{'s' if many else ''} revises: abre cada uno para "
        "ver el motivo, corrígelo y pulsa Reintentar.",
        "Ver los documentos por revisar",
        f"{reverse('merchant:documents')}?state={DocumentState.REQUIRES_REVIEW}",
    )


# --- reads ---------------------------------------------------------------------------------------------
def merchant_alerts_active(*, store_id: int) -> list[AlertText]:
    """The banners of the store's merchant pages: every situation that holds now. A pause the merchant
    made is not an alert (the Cola page says it); one the queue made itself is. Reading creates nothing."""
    cfg = EmissionSettings.objects.filter(store_id=store_id).first() or EmissionSettings(store_id=store_id)
    review = _review_count(store_id)
    situation = _situation(cfg, review)
    paused_itself = _key_missing(cfg) or (
        MerchantAlert.objects.filter(
            store_id=store_id, kind=Kind.QUEUE_PAUSED, resolved_at__isnull=True
        ).exists()
    )
    return [
        _describe(kind, cfg, review)
        for kind in (Kind.API_KEY_REJECTED, Kind.QUEUE_PAUSED, Kind.REVIEW)
        if situation[kind] and (kind != Kind.QUEUE_PAUSED or paused_itself)
    ]


# --- episodes ------------------------------------------------------------------------------------------
def merchant_alert_raise(*, store_id: int, kind: str) -> bool:
    """Open an episode of ``kind`` unless one is open; its one email goes after the commit. Concurrent
    callers (two documents failing at once) meet the constraint: one episode, one email."""
    if MerchantAlert.objects.filter(store_id=store_id, kind=kind, resolved_at__isnull=True).exists():
        return False
    try:
        with transaction.atomic():
            alert = MerchantAlert.objects.create(store_id=store_id, kind=kind)
    except IntegrityError:
        return False
    logger.info("merchant alert %s opened for store %s", kind, store_id)
    transaction.on_commit(lambda: _email_quietly(store_id, alert.pk))
    return True


def _email_quietly(store_id: int, alert_id: int) -> None:
    """An alert never breaks the emission that raised it: a failure is logged, the sweep sends it later."""
    try:
        merchant_alert_email(store_id=store_id, alert_id=alert_id)
    except Exception:  # noqa: BLE001
        logger.exception("merchant alert %s of store %s: not emailed", alert_id, store_id)


def merchant_alert_review(*, store_id: int) -> bool:
    """A document of the store went to "requiere revisión"."""
    return merchant_alert_raise(store_id=store_id, kind=Kind.REVIEW)


def merchant_alert_queue_paused(*, store_id: int, reason: str) -> bool:
    """The queue paused itself: for a rejected API key, or for anything else (OpenFactura down, no key)."""
    kind = Kind.API_KEY_REJECTED if reason == _auth_error_reason() else Kind.QUEUE_PAUSED
    return merchant_alert_raise(store_id=store_id, kind=kind)


def merchant_alerts_settle(*, store_id: int) -> int:
    """Close the store's open episodes whose situation is over (a later one is a new episode)."""
    open_alerts = MerchantAlert.objects.filter(store_id=store_id, resolved_at__isnull=True)
    if not open_alerts.exists():
        return 0
    situation = _situation(emission_settings_for(store_id=store_id), _review_count(store_id))
    over = [kind for kind, holds in situation.items() if not holds]
    return open_alerts.filter(kind__in=over).update(resolved_at=timezone.now())


def merchant_alert_email(*, store_id: int, alert_id: int) -> bool:
    """The episode's one email to the store's address (claimed before sending; undone on failure)."""
    alert = MerchantAlert.objects.select_related("store").filter(pk=alert_id, store_id=store_id).first()
    if alert is None or alert.emailed_at is not None or alert.resolved_at is not None:
        return False
    cfg = emission_settings_for(store_id=store_id)
    review = _review_count(store_id)
    if not _situation(cfg, review)[alert.kind]:  # resolved before its email left: nothing to say
        MerchantAlert.objects.filter(pk=alert.pk).update(resolved_at=timezone.now())
        return False
    recipient = store_email_for(store_id=store_id) or cfg.merchant_email
    if not recipient:
        MerchantAlert.objects.filter(pk=alert.pk).update(
            email_error=f"{NOT_SENT} la tienda no tiene correo en Jumpseller ni en Configuración."
        )
        return False
    claimed = MerchantAlert.objects.filter(pk=alert.pk, emailed_at__isnull=True)
    if not claimed.update(emailed_at=timezone.now(), email_attempts=F("email_attempts") + 1):
        return False
    store = alert.store
    text = _describe(alert.kind, cfg, review)
    context = {"store": store, "alert": text, "store_name": store.name or store.code}
    message = EmailMultiAlternatives(
        subject=f"Acción requerida: {text.title} — {store.name or store.code}",
        body=render_to_string("merchant/email/alert.txt", context),
        to=[recipient],
    )
    message.attach_alternative(render_to_string("merchant/email/alert.html", context), "text/html")
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - SMTP errors vary; recorded and retried by the sweep
        MerchantAlert.objects.filter(pk=alert.pk).update(
            emailed_at=None, email_error=f"No se pudo enviar el correo: {exc}"[:500]
        )
        logger.warning("merchant alert %s of store %s: email failed", alert.kind, store_id)
        return False
    return True


def merchant_alerts_sweep() -> dict[str, int]:
    """Every minute (``emission_sweep``): open the review episodes no hook opened (documents parked by
    another path), close the episodes that are over, and retry the emails that failed."""
    counts = {"opened": 0, "settled": 0, "emailed": 0}
    open_review = MerchantAlert.objects.filter(kind=Kind.REVIEW, resolved_at__isnull=True).values("store_id")
    unalerted = (
        _needing_action()
        .filter(store__status="connected")
        .exclude(store_id__in=open_review)
        .values_list("store_id", flat=True)
        .distinct()
    )
    for store_id in list(unalerted)[:500]:
        counts["opened"] += merchant_alert_review(store_id=store_id)
    open_stores = MerchantAlert.objects.filter(resolved_at__isnull=True).values_list("store_id", flat=True)
    for store_id in list(open_stores.distinct())[:500]:
        counts["settled"] += merchant_alerts_settle(store_id=store_id)
    unsent = (
        MerchantAlert.objects.filter(
            resolved_at__isnull=True, emailed_at__isnull=True, email_attempts__lt=MAX_EMAIL_ATTEMPTS
        )
        .exclude(email_error__startswith=NOT_SENT)
        .values_list("store_id", "pk")
    )
    for store_id, pk in list(unsent)[:200]:
        counts["emailed"] += merchant_alert_email(store_id=store_id, alert_id=pk)
    return counts
