"""Every line of an order is taxed (afecto) or exempt (exento): dte-semantics.md §1–§2.

* Product lines come from ``order.products[]``; shipping (``shipping − shipping_discount``, when > 0) is
  its own line "Despacho" (+ " - " + ``shipping_method_name``), classified by ``order.shipping_taxes[]`` and
  ``tax_on_shipping_price`` independently of the products (the seed lists a store ticking only one of the
  two "includes tax" boxes as broken in the existing plugin; here it works).
* ``taxes[]`` with exactly one percentage tax of rate 19 → taxed; its price includes IVA unless
  ``tax_on_product_price`` (shipping: ``tax_on_shipping_price``) is false. Empty ``taxes[]`` → exempt, or
  taxed with IVA included when the store setting ``untaxed_items`` is ``"taxed"`` (it covers shipping
  too). Anything else (a fixed tax, another rate, a second tax) is refused naming the tax.
* Gift cards (jumpseller-api.md §4.3, Jumpseller's invoicing docs): a product of ``type == "gift_card"``
  "should be invoiced with VAT Tax zero". Selling a gift card sells a means of payment, not goods or
  services, so it carries no IVA: the line is exempt (``IndExe`` 1) whatever its ``taxes[]`` say and
  whatever ``untaxed_items`` is. The IVA is charged later, on the goods the card pays for.

Amounts per line (§2, "Gross amount of a line"), all half-up:

* price includes IVA: ``G = round(qty × price) − round(discount)``;
* price excludes IVA: ``N = round(qty × price) − round(discount)``, ``G = round(N × 1.19)`` (Jumpseller
  rounds item by item, jumpseller-api.md §4.3);
* exempt: ``E = round(qty × price) − round(discount)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from .errors import OrderInvalid, UnsupportedTax
from .money import IVA_PERCENT, MAX_QTY, gross_of_net, half_up, plain, quantize6
from .order import Order, Tax
from .text import clean_text, cut

UntaxedItems = Literal["exempt", "taxed"]
GIFT_CARD_TYPE = "gift_card"
SHIPPING_NAME = "Despacho"
NMB_ITEM_MAX = 80  # NmbItem maxLength 80 (DTE_v10.xsd and EnvioBOLETA_v11.xsd, Detalle/NmbItem)


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One product or the shipping, classified, with the amounts Jumpseller charged for it."""

    kind: Literal["product", "shipping"]
    position: int
    name: str
    qty: Decimal  # at most 6 decimals
    price: Decimal  # unit price as in Jumpseller: net when the price excludes IVA
    discount: int  # round(discount of the whole line)
    taxed: bool
    price_includes_iva: bool  # meaningful for taxed lines only
    base: int  # round(qty × price) − discount: G (IVA included), N (IVA on top) or E (exempt)
    gross: int  # what the customer paid for the line (G, round(N × 1.19) or E)
    gift_card: bool = False

    @property
    def net_priced(self) -> bool:
        """A taxed line whose Jumpseller price excludes IVA (its net ``N`` is exact)."""
        return self.taxed and not self.price_includes_iva

    @property
    def listed(self) -> int:
        return self.base + self.discount


def _rate_text(rate: Decimal | None) -> str:
    return "sin tasa" if rate is None else f"tasa {plain(rate).replace('.', ',')} %"


def _is_iva(tax: Tax) -> bool:
    return not tax.fixed and tax.rate is not None and tax.rate == IVA_PERCENT


def _unsupported(tax: Tax, where: str, *, besides_iva: bool) -> UnsupportedTax:
    name = tax.name or "sin nombre"
    kind = "monto fijo" if tax.fixed else _rate_text(tax.rate)
    extra = " además del IVA" if besides_iva else ""
    return UnsupportedTax(
        f"{where} tiene un impuesto no soportado{extra}: «{name}» ({kind}). Solo se emiten documentos "
        "con IVA 19 %: corrige los impuestos en Jumpseller (Configuración > Impuestos) y vuelve a emitir.",
        field=name,
    )


def tax_class(taxes: tuple[Tax, ...], *, where: str, untaxed_items: UntaxedItems) -> tuple[bool, bool]:
    """``(taxed, price_includes_iva)`` for a product's ``taxes[]`` or the order's ``shipping_taxes[]``."""
    if not taxes:
        return untaxed_items == "taxed", True
    for tax in taxes:
        if not _is_iva(tax):
            raise _unsupported(tax, where, besides_iva=any(_is_iva(t) for t in taxes))
    if len(taxes) > 1:
        raise _unsupported(taxes[1], where, besides_iva=True)
    return True, taxes[0].included


def _line(
    *,
    kind: Literal["product", "shipping"],
    position: int,
    name: str,
    qty: Decimal,
    price: Decimal,
    discount: Decimal,
    taxed: bool,
    includes: bool,
    gift_card: bool = False,
) -> OrderLine:
    where = f"La línea «{name}»"
    if qty < 0 or price < 0 or discount < 0:
        raise OrderInvalid(f"{where} del pedido tiene una cantidad, precio o descuento negativo.")
    if qty >= MAX_QTY or quantize6(qty) == 0:
        raise OrderInvalid(f"{where} del pedido tiene una cantidad fuera de rango ({qty}).")
    listed = half_up(qty * price)
    rounded_discount = half_up(discount)
    base = listed - rounded_discount
    if base < 0:
        raise OrderInvalid(
            f"El descuento de la línea «{name}» ({rounded_discount}) supera su precio ({listed}): "
            "revisa el pedido."
        )
    gross = gross_of_net(base) if taxed and not includes else base
    return OrderLine(
        kind=kind,
        position=position,
        name=name,
        qty=quantize6(qty),
        price=price,
        discount=rounded_discount,
        taxed=taxed,
        price_includes_iva=includes if taxed else True,
        base=base,
        gross=gross,
        gift_card=gift_card,
    )


def shipping_name(method: str | None) -> str:
    """``Despacho`` + `` - `` + ``shipping_method_name``, cut to 80 (dte-semantics.md §1)."""
    method_text = clean_text(method)
    return cut(f"{SHIPPING_NAME} - {method_text}" if method_text else SHIPPING_NAME, NMB_ITEM_MAX)


def classify_order(order: Order, *, untaxed_items: UntaxedItems) -> tuple[list[OrderLine], list[str]]:
    """The order's lines (products, then shipping) and Spanish warnings about what was adjusted."""
    lines: list[OrderLine] = []
    warnings: list[str] = []
    for product in order.products:
        full_name = clean_text(product.name) or clean_text(product.sku) or f"Producto {product.position}"
        name = cut(full_name, NMB_ITEM_MAX)
        if name != full_name:
            warnings.append(f"El nombre del producto «{name}» se recortó a {NMB_ITEM_MAX} caracteres.")
        if product.qty == 0:
            warnings.append(f"Se omitió el producto «{name}»: su cantidad es 0.")
            continue
        gift_card = (product.type or "").lower() == GIFT_CARD_TYPE
        if gift_card:
            taxed, includes = False, True
        else:
            taxed, includes = tax_class(
                product.taxes, where=f"El producto «{name}»", untaxed_items=untaxed_items
            )
        lines.append(
            _line(
                kind="product",
                position=product.position,
                name=name,
                qty=product.qty,
                price=product.price,
                discount=product.discount,
                taxed=taxed,
                includes=includes,
                gift_card=gift_card,
            )
        )
    shipping = half_up(order.shipping - order.shipping_discount)
    if shipping > 0:
        taxed, includes = tax_class(order.shipping_taxes, where="El despacho", untaxed_items=untaxed_items)
        lines.append(
            _line(
                kind="shipping",
                position=len(order.products) + 1,
                name=shipping_name(order.shipping_method_name),
                qty=Decimal(1),
                price=Decimal(shipping),
                discount=Decimal(0),
                taxed=taxed,
                includes=includes,
            )
        )
    return lines, warnings
