"""From a paid Jumpseller order to the OpenFactura body of its boleta or factura (dte-semantics.md).

Order of the checks (the first failing one is the refusal the merchant sees): currency → the order's
values → taxes → emisor → receptor (factura, or an identified boleta buyer) → line count → totals
against the paid total → 135 UF → pre-flight validation (schema and rules).

A factura after earlier notas de crédito (``remainder``, see :mod:`.remainder`): the order is checked as
above against what was paid, then the factura documents only what remains of the sale — the order's lines,
the earlier notas as global discounts, ``MntTotal`` = original total − Σ notas.

Gift card used as payment (jumpseller-api.md §4.1 ``gift_cards_discount`` / ``gift_cards_amount``,
§4.3): the choice here is that the document shows the **full sale**. Buying a gift card was not a taxed
sale (its line is exempt, see :mod:`.classify`); the IVA is due when the goods are delivered, so the
goods paid with the card carry IVA like any other. ``order.total`` is what was left to pay after the
card, so the amount the document must match is ``order.total + gift card amount``, and the PDF says it
in ``custom.informationNote`` ("Pagado en parte con gift card: $X"), as Jumpseller's invoicing docs ask
("when gift cards were used, add a note on the document").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from .amounts import BOLETA_EXENTA, boleta_amounts, factura_amounts, net_priced_tolerance
from .classify import classify_order
from .errors import (
    BoletaOver135UF,
    CurrencyNotSupported,
    DteRefusal,
    OrderInvalid,
    TooManyLines,
    TotalsMismatch,
)
from .money import clp, half_up
from .order import Order, parse_order
from .parties import CONSUMIDOR_FINAL_RUT, Receptor, emisor_from_organization
from .payload import BuiltDocument, assemble, detalle, dsc_rcg_global, id_doc, totales
from .remainder import SaleRemainder, factura_remainder_amounts
from .store_settings import StoreDteSettings
from .validation import MAX_LINES_BOLETA, MAX_LINES_FACTURA, validate_body

Document = Literal["boleta", "factura"]
CURRENCY = "CLP"

# IdDoc.MedioPago of a boleta over 135 UF (EnvioBOLETA_v11.xsd enumeration; [FmtBOL] v4.1 p.8):
# 1 efectivo, 2 pago electrónico, 3 transferencia, 4 cheque, 5 otro.
MEDIO_PAGO_EFECTIVO, MEDIO_PAGO_ELECTRONICO, MEDIO_PAGO_TRANSFERENCIA, MEDIO_PAGO_CHEQUE = 1, 2, 3, 4


def medio_pago(order: Order) -> int:
    """The buyer's means of payment from Jumpseller's payment method; an online store's default is
    "pago electrónico"."""
    text = f"{order.payment_method_type or ''} {order.payment_method_name or ''}".lower()
    if "transfer" in text:
        return MEDIO_PAGO_TRANSFERENCIA
    if "cheque" in text:
        return MEDIO_PAGO_CHEQUE
    if "efectivo" in text or "cash" in text:
        return MEDIO_PAGO_EFECTIVO
    return MEDIO_PAGO_ELECTRONICO


def _check_currency(order: Order, warnings: list[str]) -> None:
    if order.currency is None:
        warnings.append("El pedido no indica moneda; se asume CLP.")
        return
    if order.currency.upper() != CURRENCY:
        raise CurrencyNotSupported(
            f"El pedido está en {order.currency} y los documentos tributarios se emiten solo en pesos "
            "chilenos (CLP): emite este documento manualmente en OpenFactura.",
            field="currency",
        )


def gift_card_note(amount: int, total: int) -> str:
    prefix = "Pagado en parte con gift card" if total > 0 else "Pagado con gift card"
    return f"{prefix}: {clp(amount)}"


def build_document(
    order_payload: Mapping[str, Any],
    *,
    document: Document,
    settings: StoreDteSettings,
    receptor: Receptor | None = None,
    today: date,
    remainder: SaleRemainder | None = None,
) -> BuiltDocument:
    """The validated body for ``POST /v2/dte/document``, or a :class:`~.errors.DteRefusal`.

    ``document`` "boleta" gives a 39 (41 when nothing taxed is left); "factura" a 33 (34). A factura
    without ``receptor`` takes the buyer from the order (:meth:`Receptor.from_order`). ``today`` is the
    emission date in America/Santiago. ``remainder`` (facturas only, from :func:`.sale_remainder`): what
    earlier notas de crédito left of the sale; the factura documents exactly that.
    """
    if document not in ("boleta", "factura"):
        raise ValueError(f"unknown document {document!r}")
    if remainder is not None and document != "factura":
        raise ValueError("only a factura documents what remains of a sale")
    warnings: list[str] = []
    order = parse_order(order_payload)
    _check_currency(order, warnings)
    if order.total is None:
        raise OrderInvalid("El pedido no trae su total (order.total).", field="total")
    lines, line_warnings = classify_order(order, untaxed_items=settings.untaxed_items)
    warnings += line_warnings
    if not lines:
        raise OrderInvalid("El pedido no tiene productos ni despacho que documentar.")
    emisor, emisor_warnings = emisor_from_organization(
        settings.organization, acteco=settings.acteco, sucursal=settings.sucursal
    )
    warnings += emisor_warnings

    factura = document == "factura"
    buyer: Receptor | None = None
    if factura:
        source = "order" if receptor is None else ""
        buyer = (receptor or Receptor.from_order(order_payload)).validated(factura=True, source=source)

    limit = MAX_LINES_FACTURA if factura else MAX_LINES_BOLETA
    if len(lines) > limit:
        name = "La factura" if factura else "La boleta"
        hint = " Emite una boleta o divide el pedido." if factura else " Divide el pedido."
        raise TooManyLines(
            f"{name} tendría {len(lines)} líneas de detalle y el SII admite como máximo {limit}.{hint}",
            field="Detalle",
        )

    # dte-semantics.md §1: "order.discount − Σ products[].discount when that is ≥ 1 peso".
    excess_discount = order.discount - order.line_discounts
    order_discount = half_up(excess_discount) if excess_discount >= 1 else 0

    gift_cards = half_up(order.gift_cards) if order.gift_cards > 0 else 0
    paid_total = half_up(order.total) + gift_cards
    if factura:
        amounts = factura_amounts(lines, order_discount, paid_total=paid_total)
    else:
        amounts = boleta_amounts(lines, order_discount)
    tolerance = net_priced_tolerance(lines) if factura else 1
    if gift_cards and abs(amounts.totals.total - paid_total) > tolerance:
        # The other reading of the gift card (jumpseller-api.md §4.1 [D]): order.total already is the
        # full sale and gift_cards_discount only says how part of it was paid.
        if abs(amounts.totals.total - half_up(order.total)) <= tolerance:
            paid_total = half_up(order.total)
    difference = amounts.totals.total - paid_total
    if abs(difference) > tolerance:
        with_card = (
            f", incluidos {clp(gift_cards)} con gift card" if paid_total != half_up(order.total) else ""
        )
        raise TotalsMismatch(
            f"Los montos del pedido no cuadran: el documento sumaría {clp(amounts.totals.total)} y el "
            f"pedido indica {clp(paid_total)} pagados{with_card} (diferencia de {clp(abs(difference))}; "
            f"se admite hasta {clp(tolerance)} por redondeo del IVA). Revisa descuentos, impuestos y "
            "despacho del pedido en Jumpseller.",
            field="total",
        )
    if difference:
        warnings.append(
            f"El total del documento difiere en {clp(abs(difference))} del total pagado por redondeo del IVA."
        )
    if remainder is not None:
        amounts = factura_remainder_amounts(lines, order_discount, remainder)
        paid_total = remainder.expected
        difference = amounts.totals.total - paid_total
        warnings.append(
            f"La factura documenta lo que queda de la venta ({clp(amounts.totals.total)}): las notas de "
            "crédito anteriores van como descuentos globales."
        )

    tipo = amounts.tipo
    over_limit = not factura and amounts.totals.total > settings.boleta_limit_clp
    if over_limit:
        buyer = _boleta_buyer(receptor, order_payload)
        if buyer is None:
            limit_clp = clp(half_up(settings.boleta_limit_clp))
            raise BoletaOver135UF(
                f"La boleta supera 135 UF ({clp(amounts.totals.total)}; límite {limit_clp}) y la ley "
                "exige identificar al comprador: agrega su RUT y razón social, o emite una factura.",
                field="Receptor",
            )

    if factura:
        emisor_data = emisor.factura_dict()
        receptor_data = assemble_receptor_factura(buyer)
        id_doc_data = id_doc(tipo, today)
    else:
        emisor_data = emisor.boleta_dict()
        if buyer is None:
            receptor_data = {"RUTRecep": CONSUMIDOR_FINAL_RUT}
        else:
            receptor_data = buyer.boleta_dict(cdg_int_recep=over_limit)
        id_doc_data = id_doc(tipo, today, medio_pago=medio_pago(order) if over_limit else None)

    note = gift_card_note(gift_cards, half_up(order.total)) if gift_cards else None
    if note:
        warnings.append(note)
    body = assemble(
        id_doc_data=id_doc_data,
        emisor=emisor_data,
        receptor=receptor_data,
        totales_data=totales(tipo, amounts.totals),
        detalle_data=detalle(amounts.lines),
        dsc_rcg=dsc_rcg_global(amounts.discounts),
        information_note=note,
    )
    validate_body(body)
    if amounts.exempt_document and any(line.taxed for line in lines):
        kind = "una boleta exenta" if tipo == BOLETA_EXENTA else "una factura exenta"
        warnings.append(f"Los descuentos dejan sin monto afecto al pedido: se emite {kind}.")
    return BuiltDocument(
        body=body,
        tipo=tipo,
        totals=amounts.totals.as_dict(),
        difference=difference,
        warnings=warnings,
        expected_total=paid_total,
    )


def _boleta_buyer(receptor: Receptor | None, order_payload: Mapping[str, Any]) -> Receptor | None:
    """The identified buyer a boleta over 135 UF needs (dte-semantics.md §5): the given receptor, else
    the order's billing data (RUT and a name) when it is there and valid. A boleta under the limit is
    always for the consumidor final 66666666-6, whoever the buyer is."""
    if receptor is not None:
        buyer = receptor.validated(factura=False)
    else:
        try:
            buyer = Receptor.boleta_buyer_from_order(order_payload).validated(factura=False)
        except DteRefusal:
            return None
    return None if buyer.rut == CONSUMIDOR_FINAL_RUT else buyer


def assemble_receptor_factura(buyer: Receptor | None) -> dict[str, Any]:
    if buyer is None:  # build_document always validates one for a factura
        raise ValueError("a factura needs a receptor")
    return buyer.factura_dict()
