"""Services of the fake Jumpseller: the only functions that change its state."""

from __future__ import annotations

import re
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from . import webhooks
from .models import Customer, CustomerCategory, OAuthToken, Order, Store, WebhookDelivery, new_hooks_token
from .orders import STATUS_LABELS, parse_jumpseller_time, prepare_new_order, status_enum_of, with_status

FIRST_ORDER_ID = 1001
STORE_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
STORE_OPTIONS = {"name", "email", "store_info_format", "rate_limit_per_second", "rate_limit_per_minute"}
MAIN_EVENT = {"paid": "order_paid", "canceled": "order_canceled", "pending_payment": "order_pending_payment"}


class SandboxError(Exception):
    """A request the fake Jumpseller refuses; ``field`` names the offending input."""

    def __init__(self, field: str, text: str) -> None:
        super().__init__(f"{field} {text}")
        self.field = field
        self.text = text


# --- Stores -------------------------------------------------------------------------------------


def store_contact_email(store) -> str:
    """The store's own address (``/store/info.json``'s ``email``): where a new install's demo emails go."""
    return store.email or f"contacto@{store.code}.example.cl"


def store_validate_options(options: dict) -> dict:
    clean = {}
    for key, value in options.items():
        if key not in STORE_OPTIONS:
            continue
        if key == "store_info_format" and value not in {Store.INFO_WRAPPED, Store.INFO_FLAT}:
            raise SandboxError(key, "must be 'wrapped' or 'flat'")
        if key.startswith("rate_limit_") and value is not None and (not isinstance(value, int) or value < 0):
            raise SandboxError(key, "must be null or an integer ≥ 0")
        if key in {"name", "email"}:
            value = str(value or "")
        clean[key] = value
    return clean


def store_ensure(*, code: str, name: str = "", **options) -> tuple[Store, bool]:
    """The store ``code``, created if missing (its name and options updated when given)."""
    if not isinstance(code, str) or not STORE_CODE_RE.match(code):
        raise SandboxError("code", "must be lowercase letters, digits and hyphens (the store subdomain)")
    clean = store_validate_options({**options, "name": name} if name else options)
    try:
        with transaction.atomic():
            store, created = Store.objects.get_or_create(
                code=code, defaults={"name": name or code.replace("-", " ").title(), **clean}
            )
    except IntegrityError:
        store, created = Store.objects.get(code=code), False
    if not created and clean:
        store_update(store=store, options=clean)
    return store, created


def store_update(*, store: Store, options: dict) -> Store:
    clean = store_validate_options(options)
    for key, value in clean.items():
        setattr(store, key, value)
    if clean:
        store.save(update_fields=list(clean))
    return store


def store_reset_hooks_token(*, store: Store) -> Store:
    store.hooks_token = new_hooks_token()
    store.save(update_fields=["hooks_token"])
    return store


def store_revoke_tokens(*, store: Store) -> int:
    """Revoke every access and refresh token of the store (the merchant uninstalled the app)."""
    return OAuthToken.objects.filter(store=store, revoked_at__isnull=True).update(revoked_at=timezone.now())


def store_expire_tokens(*, store: Store) -> int:
    """Make every access token of the store expired now (refresh tokens stay usable)."""
    past = timezone.now() - timedelta(seconds=1)
    count = 0
    for token in OAuthToken.objects.filter(store=store, revoked_at__isnull=True):
        token.created_at = past - timedelta(seconds=token.expires_in)
        token.save(update_fields=["created_at"])
        count += 1
    return count


# --- Tokens -------------------------------------------------------------------------------------


def token_issue(*, store: Store, client_id: str, scope: str) -> OAuthToken:
    return OAuthToken.objects.create(store=store, client_id=client_id, scope=scope)


# --- Customers ----------------------------------------------------------------------------------
CUSTOMER_STATUSES = {"approved", "pending", "disabled"}  # OAS ``CustomerFields.status``


def _category_names(value) -> list[str]:
    """``["Mayoristas"]`` or ``[{"name": "Mayoristas"}]`` → the names; anything else is refused."""
    if not isinstance(value, list):
        raise SandboxError("customer_categories", 'must be a list of names or {"name"} objects')
    names = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name.strip():
            raise SandboxError("customer_categories", "each category needs a non-empty name")
        names.append(" ".join(name.split()))
    return names


def customer_create(*, store: Store, customer: dict) -> Customer:
    """A customer with its categories (created by name in the store when new). ``id`` is required:
    orders name their customer by it (``order.customer.id``)."""
    customer_id = _given_id(customer)
    if customer_id is None:
        raise SandboxError("id", "is required (the id orders use in customer.id)")
    status = str(customer.get("status") or "approved")
    if status not in CUSTOMER_STATUSES:
        raise SandboxError("status", "must be approved, pending or disabled")
    names = _category_names(customer.get("customer_categories") or [])
    with transaction.atomic():
        row, _ = Customer.objects.update_or_create(
            store=store,
            customer_id=customer_id,
            defaults={
                "email": str(customer.get("email") or "")[:254],
                "name": str(customer.get("name") or "")[:200],
                "surname": str(customer.get("surname") or "")[:200],
                "phone": str(customer.get("phone") or "")[:40],
                "status": status,
            },
        )
        row.categories.set(
            [CustomerCategory.objects.get_or_create(store=store, name=name)[0] for name in names]
        )
    return row


def customer_json(customer: Customer) -> dict:
    """The OAS ``CustomerFields`` (jumpseller-api.md [GAP]: the body is read from the OAS schema)."""
    return {
        "id": customer.customer_id,
        "email": customer.email or None,
        "name": customer.name or None,
        "surname": customer.surname or None,
        "phone": customer.phone or None,
        "status": customer.status,
        "customer_categories": [
            {"id": category.pk, "name": category.name} for category in customer.categories.order_by("id")
        ],
        "customer_additional_fields": [],
        "billing_address": None,
        "shipping_address": None,
    }


# --- Orders -------------------------------------------------------------------------------------


def _given_id(order: dict) -> int | None:
    value = order.get("id")
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SandboxError("id", "must be an integer") from None
    if number <= 0 or str(number) != str(value).strip():
        raise SandboxError("id", "must be a positive integer")
    return number


def order_create(*, store: Store, order: dict, notify: bool = True) -> Order:
    """Keep ``order`` as given, filling id (next from 1001 if absent), status, dates and currency.

    An order whose id exists is replaced. With ``notify``, hooks on ``order_pending_payment`` (a new
    pending order) and ``order_updated`` get it, as Jumpseller does when an order is created.
    """
    if not isinstance(order, dict):
        raise SandboxError("order", "must be an object")
    for key in ("status", "status_enum"):
        if order.get(key) not in (None, "") and status_enum_of(order[key]) is None:
            raise SandboxError(key, f"must be one of {', '.join(STATUS_LABELS.values())}")
    given = _given_id(order)
    for _ in range(10):
        order_id = given or _next_order_id(store)
        payload = prepare_new_order(order, order_id=order_id, currency=store.currency)
        fields = {
            "payload": payload,
            "status_enum": payload["status_enum"],
            "created_at": parse_jumpseller_time(payload.get("created_at")) or timezone.now(),
        }
        try:
            with transaction.atomic():
                if given:
                    row, _ = Order.objects.update_or_create(store=store, order_id=order_id, defaults=fields)
                else:
                    row = Order.objects.create(store=store, order_id=order_id, **fields)
            break
        except IntegrityError:  # a concurrent create took the id: take the next one
            continue
    else:  # pragma: no cover - ten collisions in a row
        raise SandboxError("id", "could not be assigned; try again")
    if notify:
        events = [("order_updated", 1)]
        if row.status_enum == "pending_payment":
            events.insert(0, ("order_pending_payment", 1))
        webhooks.deliver(store=store, order=row.payload, events=events)
    return row


def _next_order_id(store: Store) -> int:
    current = Order.objects.filter(store=store).aggregate(top=Max("order_id"))["top"]
    return max(FIRST_ORDER_ID, (current or 0) + 1)


def order_set_status(*, store: Store, order: Order, status: str, times: int = 1) -> list[WebhookDelivery]:
    """Move ``order`` to ``paid`` or ``canceled`` and deliver ``order_paid``/``order_canceled``.

    The main event goes ``times`` times concurrently to every hook on it (the same event again when
    the order already was in that state, to let duplicates be tested); ``order_updated`` once when the
    state changed. Returns the first attempts of the main event, after they finished.
    """
    if status == "paid" and order.status_enum == "canceled":
        raise SandboxError("status", "a canceled order cannot be paid")
    changed = order.status_enum != status
    payload = with_status(order.payload, status)
    Order.objects.filter(pk=order.pk).update(payload=payload, status_enum=status, updated_at=timezone.now())
    order.payload, order.status_enum = payload, status
    main = MAIN_EVENT[status]
    events = [(main, times)] + ([("order_updated", 1)] if changed else [])
    rows = webhooks.deliver(store=store, order=payload, events=events)
    return [row for row in rows if row.event == main]


def order_update_from_api(*, store: Store, order: Order, changes: dict) -> Order:
    """``PUT /orders/{id}.json``: only the fields Jumpseller lets an app change (jumpseller-api.md §2.3)."""
    payload = dict(order.payload)
    previous = order.status_enum
    for key in (
        "shipment_status",
        "tracking_number",
        "tracking_company",
        "tracking_url",
        "additional_information",
        "additional_fields",
    ):
        if key in changes:
            payload[key] = changes[key]
    status = previous
    if changes.get("status") not in (None, ""):
        status = status_enum_of(changes["status"])
        if status is None:
            raise SandboxError("status", f"must be one of {', '.join(STATUS_LABELS.values())}")
        payload = with_status(payload, status)
    Order.objects.filter(pk=order.pk).update(payload=payload, status_enum=status, updated_at=timezone.now())
    order.payload, order.status_enum = payload, status
    events = [("order_updated", 1)]
    if status != previous and status in MAIN_EVENT:
        events.insert(0, (MAIN_EVENT[status], 1))
    webhooks.deliver_in_background(store=store, order=payload, events=events)
    return order
