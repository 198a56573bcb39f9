"""Helpers for the DTE engine tests: Jumpseller-shaped orders with the total Jumpseller would charge.

The expected total is computed here independently of the engine, the way Jumpseller charges
(jumpseller-api.md §4.3: IVA added on top is rounded item by item), so that the engine's totals are
checked against something it did not compute.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from emission.dte import StoreDteSettings, build_document

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TODAY = date(2026, 11, 29)

IVA_INCLUDED = {"id": 1, "name": "IVA", "rate": 19, "fixed": False, "tax_on_product_price": True}
IVA_ON_TOP = {"id": 1, "name": "IVA", "rate": 19, "fixed": False, "tax_on_product_price": False}
SHIPPING_IVA_INCLUDED = {
    "id": 2,
    "name": "IVA",
    "country": "CL",
    "region": None,
    "rate": 19,
    "fixed": False,
    "tax_on_shipping_price": True,
}
SHIPPING_IVA_ON_TOP = {**SHIPPING_IVA_INCLUDED, "tax_on_shipping_price": False}

BUYER = {
    "billing_address": {
        "name": "Camila",
        "surname": "Rojas",
        "taxid": "76.430.498-5",
        "address": "Arturo Prat",
        "street_number": "527",
        "city": "Curicó",
        "municipality": "Curicó",
        "region": "Maule",
        "country": "Chile",
        "country_code": "CL",
    },
    "billing_information": {
        "company_name": "HOSTY SPA",
        "business_activity": "Empresas de servicios integrales de informática",
        "taxpayer_type": "company",
    },
    "customer": {"id": 501, "email": "compras@hosty.cl", "fullname": "Camila Rojas"},
}


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def product(
    name: str,
    qty: Any,
    price: Any,
    *,
    taxes: tuple[dict, ...] = (IVA_INCLUDED,),
    discount: Any = 0,
    type: str | None = None,
) -> dict[str, Any]:
    data = {
        "id": abs(hash(name)) % 100000,
        "variant_id": None,
        "sku": name[:10].upper().replace(" ", "-"),
        "name": name,
        "qty": qty,
        "price": price,
        "discount": discount,
        "taxes": list(taxes),
    }
    if type is not None:
        data["type"] = type
    return data


def _gross(amount: int, taxes: list[dict], included_key: str) -> int:
    if taxes and not taxes[0].get(included_key, True):
        return half_up(Decimal(amount) * Decimal("1.19"))
    return amount


def charged_total(
    products: list[dict],
    *,
    shipping: int = 0,
    shipping_taxes: tuple[dict, ...] = (),
    order_discount: int = 0,
) -> int:
    """What Jumpseller charges: per-line gross (IVA on top rounded per item) + shipping − discount."""
    total = 0
    for item in products:
        base = half_up(Decimal(str(item["qty"])) * Decimal(str(item["price"]))) - half_up(
            Decimal(str(item.get("discount") or 0))
        )
        total += (
            base if item.get("type") == "gift_card" else _gross(base, item["taxes"], "tax_on_product_price")
        )
    if shipping:
        total += _gross(shipping, list(shipping_taxes), "tax_on_shipping_price")
    return total - order_discount


def paid_order(
    products: list[dict],
    *,
    shipping: int = 0,
    shipping_taxes: tuple[dict, ...] = (),
    shipping_method_name: str | None = None,
    order_discount: int = 0,
    gift_cards: int = 0,
    total: Any = None,
    currency: str = "CLP",
    buyer: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """``{"order": {...}}`` as Jumpseller delivers a paid order; ``total`` defaults to the charged one."""
    line_discounts = sum(Decimal(str(item.get("discount") or 0)) for item in products)
    if total is None:
        total = (
            charged_total(
                products, shipping=shipping, shipping_taxes=shipping_taxes, order_discount=order_discount
            )
            - gift_cards
        )
    order: dict[str, Any] = {
        "id": 1001,
        "created_at": "2026-11-28 13:56:35 UTC",
        "completed_at": "2026-11-28T14:00:00Z",
        "status": "Paid",
        "status_enum": "paid",
        "currency": currency,
        "shipping": shipping,
        "shipping_discount": 0,
        "shipping_method_name": shipping_method_name,
        "discount": float(line_discounts) + order_discount
        if line_discounts % 1
        else int(line_discounts) + order_discount,
        "gift_cards_discount": gift_cards,
        "total": total,
        "payment_method_name": "Webpay",
        "payment_method_type": "webpay",
        "products": products,
        "shipping_taxes": list(shipping_taxes),
        "customer": {"id": 7, "email": "cliente@example.cl", "fullname": "Cliente"},
    }
    if buyer:
        order.update(json.loads(json.dumps(BUYER)))
    order.update(extra)
    return {"order": order}


def fixture(service: str, name: str) -> Any:
    return json.loads((FIXTURES / service / f"{name}.json").read_text(encoding="utf-8"))


def build(order: dict, document: str = "boleta", settings: StoreDteSettings | None = None, **kwargs: Any):
    return build_document(
        order, document=document, settings=settings or StoreDteSettings.demo(), today=TODAY, **kwargs
    )


def totales(built) -> dict[str, int]:
    return built.body["dte"]["Encabezado"]["Totales"]


def detalle(built) -> list[dict[str, Any]]:
    return built.body["dte"]["Detalle"]


def amounts(built) -> list[tuple]:
    """``(QtyItem, PrcItem, DescuentoMonto, MontoItem, IndExe)`` per line, for compact assertions."""
    return [
        (
            line.get("QtyItem"),
            line.get("PrcItem"),
            line.get("DescuentoMonto"),
            line["MontoItem"],
            line.get("IndExe"),
        )
        for line in detalle(built)
    ]
