"""Jumpseller order JSON: status names, defaults for a created order, and an order builder.

Pure functions (no models): the control API, the people pages and the seed share them.

Shape: jumpseller-api.md §4.1. ``status``/``status_name`` are Jumpseller's (translated) labels and
``status_enum`` the stable key; both are kept consistent here.

Amounts built by :func:`build_order` follow dte-semantics.md §2 (per-line gross, half-up rounding,
Jumpseller's item-by-item IVA) and keep the identity of the published example (§4.2):
``subtotal − discount + shipping − shipping_discount + tax (+ shipping_tax added on top) = total``, where
``subtotal`` excludes taxes, so for IVA-included lines it is the net part and ``tax`` the IVA inside.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from django.utils import timezone

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"

STATUS_LABELS = {
    "pending_payment": "Pending Payment",
    "paid": "Paid",
    "canceled": "Canceled",
    "abandoned": "Abandoned",
}
STATUS_FILTERS = {"paid", "created", "pending_payment", "canceled", "abandoned"}
IVA_RATE = Decimal("0.19")

TAX_INCLUDED = "incluido"
TAX_ON_TOP = "adicional"
TAX_EXEMPT = "exento"


def status_enum_of(value: Any) -> str | None:
    """``"Pending Payment"``, ``"pending_payment"``, ``"pending"``, ``"Paid"`` … → the enum key."""
    if not isinstance(value, str) or not value.strip():
        return None
    key = value.strip().lower().replace(" ", "_").replace("-", "_")
    if key in {"pending", "created"}:
        key = "pending_payment"
    if key == "cancelled":
        key = "canceled"
    return key if key in STATUS_LABELS else None


def jumpseller_time(moment=None) -> str:
    """Jumpseller's date format in orders and webhooks: ``2023-02-10 13:56:35 UTC``."""
    moment = (moment or timezone.now()).astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def with_status(order: dict, status: str, *, now=None) -> dict:
    """A copy of ``order`` in ``status`` (``completed_at`` is set the first time it is paid)."""
    order = dict(order)
    label = STATUS_LABELS[status]
    order["status"] = label
    order["status_name"] = label
    order["status_enum"] = status
    if status == "paid" and not order.get("completed_at"):
        order["completed_at"] = jumpseller_time(now)
    return order


def prepare_new_order(order: dict, *, order_id: int, currency: str, now=None) -> dict:
    """The order as given, plus the few fields Jumpseller always fills: id, status, dates, currency."""
    order = dict(order)
    order["id"] = order_id
    status = (
        status_enum_of(order.get("status_enum")) or status_enum_of(order.get("status")) or "pending_payment"
    )
    if not order.get("created_at"):
        order["created_at"] = jumpseller_time(now)
    if not order.get("currency"):
        order["currency"] = currency
    return with_status(order, status, now=now)


def parse_jumpseller_time(value: Any):
    """Any of the three date formats of jumpseller-api.md §4.1 → aware datetime, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S UTC", "%Y-%m-%d %H:%M:%S.%f UTC"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- Building an order from lines (the people form and the examples) -----------------------------


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass
class Line:
    name: str
    qty: Decimal
    price: Decimal  # unit price as Jumpseller shows it
    tax: str = TAX_INCLUDED  # incluido | adicional | exento
    discount: Decimal = Decimal(0)  # discount of the whole line, pesos
    sku: str = ""


@dataclass
class Buyer:
    name: str = "Camila"
    surname: str = "Rojas"
    email: str = "camila.rojas@example.cl"
    phone: str = "+56912345678"
    taxid: str = ""
    address: str = "Av. Providencia"
    street_number: str = "1234"
    municipality: str = "Providencia"
    city: str = "Santiago"
    region: str = "Región Metropolitana de Santiago"
    region_code: str = "RM"
    company_name: str = ""
    business_activity: str = ""


def iva_tax(*, shipping: bool = False, included: bool = True) -> dict:
    if shipping:
        return {
            "id": 1,
            "name": "IVA",
            "country": "CL",
            "region": None,
            "rate": 19,
            "fixed": False,
            "tax_on_shipping_price": included,
        }
    return {"id": 1, "name": "IVA", "rate": 19, "fixed": False, "tax_on_product_price": included}


def build_order(
    lines: list[Line],
    *,
    buyer: Buyer | None = None,
    shipping: Decimal = Decimal(0),
    shipping_tax: str = TAX_INCLUDED,  # incluido | exento
    shipping_method_name: str = "Despacho a domicilio",
    order_discount: Decimal = Decimal(0),  # order-level discount on the gross total, pesos
) -> dict:
    """A Jumpseller order (without id/status/dates: the store fills them) with consistent totals."""
    buyer = buyer or Buyer()
    products = []
    gross_total = 0
    tax_total = 0
    included_tax = 0  # IVA inside the listed prices
    line_discounts = 0
    listed = 0  # Σ round(qty × price)
    for index, line in enumerate(lines, start=1):
        amount = _round(line.qty * line.price)
        discount = _round(line.discount)
        base = amount - discount
        if line.tax == TAX_ON_TOP:
            gross = _round(Decimal(base) * (1 + IVA_RATE))
            tax = gross - base
            taxes = [iva_tax(included=False)]
        elif line.tax == TAX_INCLUDED:
            gross = base
            tax = gross - _round(Decimal(gross) / (1 + IVA_RATE))
            included_tax += tax
            taxes = [iva_tax(included=True)]
        else:
            gross, tax, taxes = base, 0, []
        listed += amount
        gross_total += gross
        tax_total += tax
        line_discounts += discount
        products.append(
            {
                "id": 9000 + index,
                "variant_id": None,
                "sku": line.sku or f"SKU-{index:03d}",
                "name": line.name,
                "qty": _number(line.qty),
                "price": _number(line.price),
                "discount": discount,
                "weight": 1.0,
                "image": None,
                "taxes": taxes,
            }
        )
    shipping_amount = _round(shipping)
    shipping_iva = 0
    shipping_taxes: list[dict] = []
    if shipping_amount and shipping_tax == TAX_INCLUDED:
        shipping_iva = shipping_amount - _round(Decimal(shipping_amount) / (1 + IVA_RATE))
        shipping_taxes = [iva_tax(shipping=True, included=True)]
    order_level = _round(order_discount)
    total = gross_total + shipping_amount - order_level
    discount = order_level + line_discounts
    subtotal = listed - included_tax
    billing = {
        "name": buyer.name,
        "surname": buyer.surname,
        "taxid": buyer.taxid or None,
        "address": buyer.address,
        "street_number": buyer.street_number,
        "complement": None,
        "city": buyer.city,
        "postal": None,
        "region": buyer.region,
        "region_code": buyer.region_code,
        "country": "Chile",
        "country_code": "CL",
        "municipality": buyer.municipality,
        "neighbourhood": None,
    }
    order = {
        "currency": "CLP",
        "subtotal": subtotal,
        "tax": tax_total,
        "shipping_tax": shipping_iva,
        "shipping": shipping_amount,
        "shipping_required": bool(shipping_amount),
        "shipping_discount": 0,
        "discount": discount,
        "gift_cards_discount": 0,
        "total": total,
        "shipping_method_name": shipping_method_name if shipping_amount else None,
        "shipping_option": "delivery" if shipping_amount else "no_shipping",
        "payment_method_name": "Webpay",
        "payment_method_type": "webpay",
        "customer": {
            "id": 501,
            "email": buyer.email,
            "phone": buyer.phone,
            "phone_prefix": "+56",
            "fullname": f"{buyer.name} {buyer.surname}".strip(),
        },
        "billing_address": billing,
        "shipping_address": {k: v for k, v in billing.items() if k != "taxid"} if shipping_amount else None,
        "products": products,
        "shipping_taxes": shipping_taxes,
        "additional_fields": [],
        "billing_information": {
            "company_name": buyer.company_name or None,
            "business_activity": buyer.business_activity or None,
            "taxpayer_type": "company" if buyer.company_name else None,
        },
        "source": {"created_from": "checkout"},
    }
    if buyer.company_name:
        order["additional_fields"] = [{"label": "Documento", "value": "Factura", "id": 1, "area": "other"}]
    return order


# --- Ready examples ------------------------------------------------------------------------------

EXAMPLES = {
    "afecta": "Afecta (IVA incluido)",
    "exenta": "Exenta",
    "mixta": "Mixta (afecta + exenta)",
    "con_despacho": "Con despacho",
    "empresa": "Comprador empresa (pide factura)",
    "iva_adicional": "IVA agregado sobre el precio",
}


def example_names() -> list[str]:
    return [name for name in EXAMPLES if (EXAMPLES_DIR / f"{name}.json").exists()]


def load_example(name: str) -> dict:
    """The ``order`` object of ``sandbox/examples/<name>.json``."""
    if name not in EXAMPLES:
        raise KeyError(name)
    data = json.loads((EXAMPLES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return data["order"]
