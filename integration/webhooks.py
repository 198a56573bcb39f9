"""The webhook receiver ``POST /jumpseller/webhooks/`` (pinned): verify → persist → enqueue → 2xx.

jumpseller-api.md §3.2: Jumpseller posts ``{"order": {...}}`` with ``Jumpseller-Event``,
``Jumpseller-Store-Code`` and ``Jumpseller-Hmac-Sha256`` = standard base64 of HMAC-SHA256 of the raw body,
keyed with the store's hooks token. The signature is checked on the raw bytes, in constant time, before
anything is parsed. The store's id and decrypted token are kept per process for a few seconds
(``selectors.webhook_signer``); on a mismatch the token is re-read from the database, then from the API
once (the merchant can reset it), before rejecting.

Answers: 413 body over ``WEBHOOK_MAX_BODY_BYTES``; 400 missing headers; 401 unknown store or bad
signature (nothing stored); 400 malformed JSON after a valid signature (recorded as ``invalid``);
otherwise the delivery is stored, queued on commit and answered 200 — duplicates included, so that
Jumpseller stops retrying them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.logging import log_context

from . import selectors, services

logger = logging.getLogger(__name__)

EVENT_NAME_MAX = 64
KEPT_HEADERS = {"content-type", "content-length", "user-agent"}


def signature_for(body: bytes, hooks_token: str) -> str:
    digest = hmac.new(hooks_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_valid(body: bytes, signature: str, hooks_token: str) -> bool:
    if not hooks_token:
        return False
    return hmac.compare_digest(signature_for(body, hooks_token).encode(), signature.encode())


def _answer(http_status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"message": message, **extra}, status=http_status)


def _parse_order_id(body: bytes, *, needs_order: bool) -> tuple[int | None, str]:
    """``(order id, "")`` from ``{"order": {"id": ...}}``, or ``(None, reason)`` when malformed.

    Malformed JSON is always invalid; a missing ``order.id`` only for events the app uses.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, "El cuerpo no es JSON válido."
    order = payload.get("order") if isinstance(payload, dict) else None
    order_id = _order_id(order.get("id") if isinstance(order, dict) else None)
    if order_id is None:
        return None, "El cuerpo no trae un order.id válido." if needs_order else ""
    return order_id, ""


_ORDER_ID_MAX_DIGITS = len(str(2**63 - 1))


def _order_id(raw: object) -> int | None:
    """A JSON integer, or a string of ASCII digits written the canonical way (no sign, spaces,
    underscores or leading zeros), in ``1 .. 2**63 - 1`` (Jumpseller ids are positive; the column is a
    bigint); anything else is ``None``. ``int()`` alone would take ``"١٢٣"``, ``"1_002"``, ``" 1002"``,
    ``"+1002"`` and ``"0001002"``, none of which Jumpseller writes."""
    if type(raw) is int:  # not bool (a subclass of int), not float
        value = raw
    elif (
        type(raw) is str
        and raw.isascii()
        and raw.isdigit()
        and not raw.startswith("0")
        and len(raw) <= _ORDER_ID_MAX_DIGITS
    ):
        value = int(raw)
    else:
        return None
    return value if 0 < value < 2**63 else None


@csrf_exempt
@never_cache
@require_POST
def receive(request: HttpRequest) -> JsonResponse:
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _answer(413, "Payload Too Large")
    store_code = request.headers.get("Jumpseller-Store-Code", "").strip()
    signature = request.headers.get("Jumpseller-Hmac-Sha256", "").strip()
    event = request.headers.get("Jumpseller-Event", "").strip()
    if not store_code or not signature or not event or len(event) > EVENT_NAME_MAX:
        return _answer(400, "Missing Jumpseller headers")
    body = request.body
    if len(body) > limit:
        return _answer(413, "Payload Too Large")

    signer = selectors.webhook_signer(code=store_code)
    if signer is not None and not signature_valid(body, signature, signer.hooks_token):
        signer = selectors.webhook_signer(code=store_code, fresh=True)  # the kept token may be stale
    if signer is None:
        return _answer(401, "Unauthorized")
    if not signature_valid(body, signature, signer.hooks_token):
        fresh = services.store_hooks_token_refetch(store_id=signer.store_id) if signer.connected else None
        if not fresh or not signature_valid(body, signature, fresh):
            logger.warning("webhook %s rejected: bad signature", event)
            return _answer(401, "Unauthorized")

    # Verified: only now is the body looked at, and only now does the store code name the store in logs
    # (core.middleware never takes it from the unauthenticated header).
    with log_context(store_code=store_code):
        order_id, invalid_reason = _parse_order_id(body, needs_order=event in services.handled_events())
        headers = {
            key: value
            for key, value in request.headers.items()
            if key.lower().startswith("jumpseller-") or key.lower() in KEPT_HEADERS
        }
        row = services.webhook_event_receive(
            store_id=signer.store_id,
            event=event,
            order_id=order_id,
            raw_body=body,
            headers=headers,
            invalid_reason=invalid_reason,
        )
    if row.status == row.Status.INVALID:
        return _answer(400, invalid_reason, id=row.pk)
    return _answer(200, "ok", id=row.pk, status=row.status)
