"""A Jumpseller order (``{"order": {...}}``) read into frozen dataclasses.

Shape: jumpseller-api.md §4.1 (``OrderFields``). Numbers may arrive as ints, floats or strings; every one
goes through ``Decimal(str(x))`` so that ``29.99`` stays ``29.99`` (never a binary float). Dates come in
three formats (§4.1 [D]): ``2023-02-10 13:56:35 UTC``, ``2014-03-01T01:43:16+00:00`` and
``2024-11-05T11:26:30Z``.

Gift cards: the API schema names the amount paid with gift cards ``gift_cards_discount``; the invoicing
docs call it ``gift_cards_amount`` (§4.1 [D]); both are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import OrderInvalid


@dataclass(frozen=True, slots=True)
class Tax:
    """One entry of ``products[].taxes[]`` or ``shipping_taxes[]``."""

    name: str
    rate: Decimal | None
    fixed: bool
    # ``tax_on_product_price`` / ``tax_on_shipping_price``: False when the tax is added on top of the
    # price; missing means included (dte-semantics.md §2).
    included: bool


@dataclass(frozen=True, slots=True)
class Product:
    position: int  # 1-based position in ``order.products``
    name: str
    sku: str
    qty: Decimal
    price: Decimal  # unit price
    discount: Decimal  # discount of the whole line (dte-semantics.md §1)
    taxes: tuple[Tax, ...]
    type: str | None


@dataclass(frozen=True, slots=True)
class Order:
    id: str | None
    currency: str | None
    total: Decimal | None
    subtotal: Decimal | None
    discount: Decimal
    shipping: Decimal
    shipping_discount: Decimal
    shipping_method_name: str | None
    shipping_taxes: tuple[Tax, ...]
    gift_cards: Decimal
    products: tuple[Product, ...]
    payment_method_type: str | None
    payment_method_name: str | None
    created_at: datetime | None
    completed_at: datetime | None
    raw: Mapping[str, Any]

    @property
    def line_discounts(self) -> Decimal:
        return sum((product.discount for product in self.products), Decimal(0))


def order_object(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``order`` object of a webhook/API payload (a bare order object is accepted too)."""
    if not isinstance(payload, Mapping):
        raise OrderInvalid("El pedido no es un objeto JSON.")
    inner = payload.get("order")
    if isinstance(inner, Mapping):
        return inner
    if "products" in payload or "total" in payload:
        return payload
    raise OrderInvalid('El pedido no trae el objeto "order".')


def to_decimal(value: Any, *, field: str, default: Decimal | None = Decimal(0)) -> Decimal | None:
    """``Decimal(str(value))`` for ints, floats and numeric strings; ``default`` when missing."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        raise OrderInvalid(f"El pedido trae un valor no numérico en {field}: {value!r}.", field=field)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise OrderInvalid(
            f"El pedido trae un valor no numérico en {field}: {value!r}.", field=field
        ) from None
    if not number.is_finite():
        raise OrderInvalid(f"El pedido trae un valor no numérico en {field}: {value!r}.", field=field)
    return number


def _required_decimal(value: Any, *, field: str) -> Decimal:
    number = to_decimal(value, field=field)
    return Decimal(0) if number is None else number


def to_bool(value: Any, *, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in {"true", "1", "yes", "si", "sí"}:
            return True
        if text in {"false", "0", "no", ""}:
            return False
    return default


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_jumpseller_datetime(value: Any) -> datetime | None:
    """Any of the three date formats of jumpseller-api.md §4.1 → aware UTC datetime, else ``None``."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(" UTC"):
        for fmt in ("%Y-%m-%d %H:%M:%S UTC", "%Y-%m-%d %H:%M:%S.%f UTC"):
            try:
                return datetime.strptime(text, fmt).replace(tzinfo=UTC)
            except ValueError:
                continue
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _taxes(entries: Any, *, included_key: str) -> tuple[Tax, ...]:
    if not entries:
        return ()
    if not isinstance(entries, list):
        raise OrderInvalid("El pedido trae impuestos con un formato desconocido.")
    taxes = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise OrderInvalid("El pedido trae impuestos con un formato desconocido.")
        name = _text(entry.get("name")).strip()
        taxes.append(
            Tax(
                name=name,
                rate=to_decimal(entry.get("rate"), field=f"impuesto «{name}» (rate)", default=None),
                fixed=to_bool(entry.get("fixed"), default=False),
                included=to_bool(entry.get(included_key), default=True),
            )
        )
    return tuple(taxes)


def parse_order(payload: Mapping[str, Any]) -> Order:
    """Read the order; raise :class:`OrderInvalid` when a value cannot be a number."""
    data = order_object(payload)
    raw_products = data.get("products") or []
    if not isinstance(raw_products, list):
        raise OrderInvalid("El pedido trae productos con un formato desconocido.")
    products = []
    for position, item in enumerate(raw_products, start=1):
        if not isinstance(item, Mapping):
            raise OrderInvalid(f"El producto {position} del pedido no es un objeto.")
        where = f"products[{position}]"
        products.append(
            Product(
                position=position,
                name=_text(item.get("name")),
                sku=_text(item.get("sku")),
                qty=_required_decimal(item.get("qty", 1), field=f"{where}.qty"),
                price=_required_decimal(item.get("price"), field=f"{where}.price"),
                discount=_required_decimal(item.get("discount"), field=f"{where}.discount"),
                taxes=_taxes(item.get("taxes"), included_key="tax_on_product_price"),
                type=_optional_text(item.get("type")),
            )
        )
    gift_cards = to_decimal(data.get("gift_cards_discount"), field="gift_cards_discount")
    if not gift_cards:
        gift_cards = to_decimal(data.get("gift_cards_amount"), field="gift_cards_amount")
    return Order(
        id=_optional_text(data.get("id")),
        currency=_optional_text(data.get("currency")),
        total=to_decimal(data.get("total"), field="total", default=None),
        subtotal=to_decimal(data.get("subtotal"), field="subtotal", default=None),
        discount=_required_decimal(data.get("discount"), field="discount"),
        shipping=_required_decimal(data.get("shipping"), field="shipping"),
        shipping_discount=_required_decimal(data.get("shipping_discount"), field="shipping_discount"),
        shipping_method_name=_optional_text(data.get("shipping_method_name")),
        shipping_taxes=_taxes(data.get("shipping_taxes"), included_key="tax_on_shipping_price"),
        gift_cards=gift_cards or Decimal(0),
        products=tuple(products),
        payment_method_type=_optional_text(data.get("payment_method_type")),
        payment_method_name=_optional_text(data.get("payment_method_name")),
        created_at=parse_jumpseller_datetime(data.get("created_at")),
        completed_at=parse_jumpseller_datetime(data.get("completed_at")),
        raw=data,
    )
