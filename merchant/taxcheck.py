"""Tax setup check: what recent Jumpseller orders say about how products and shipping will be documented.

Pure: order dicts in, Spanish findings out (dte-semantics §1–§2: empty ``taxes[]`` → exempt unless the store
treats untaxed items as taxed; IVA included or not is read per product and for shipping separately).
Both combinations still produce correct documents; the check only tells the merchant what will happen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FIX_TAXES = (
    "En Jumpseller, ve a Configuración → Impuestos, crea (o revisa) el impuesto «IVA» de 19 % para Chile y "
    "asígnalo a tus productos"
)


@dataclass
class TaxFinding:
    level: str  # "warn" | "info"
    text: str
    examples: list[str] = field(default_factory=list)


def _is_iva(tax: dict[str, Any]) -> bool:
    return not tax.get("fixed") and str(tax.get("rate")) in ("19", "19.0")


def tax_setup_findings(orders: list[dict[str, Any]], *, untaxed_items: str) -> list[TaxFinding]:
    untaxed: dict[str, None] = {}
    product_includes: set[bool] = set()
    shipping_includes: set[bool] = set()
    shipping_untaxed = 0
    for order in orders:
        for product in order.get("products") or []:
            ivas = [t for t in product.get("taxes") or [] if _is_iva(t)]
            if not product.get("taxes"):
                untaxed[str(product.get("name") or product.get("sku") or product.get("id"))] = None
            for tax in ivas:
                product_includes.add(bool(tax.get("tax_on_product_price", True)))
        if float(order.get("shipping") or 0) > 0:
            ivas = [t for t in order.get("shipping_taxes") or [] if _is_iva(t)]
            if not order.get("shipping_taxes"):
                shipping_untaxed += 1
            for tax in ivas:
                shipping_includes.add(bool(tax.get("tax_on_shipping_price", True)))
    findings: list[TaxFinding] = []
    if untaxed and untaxed_items == "exempt":
        findings.append(
            TaxFinding(
                "warn",
                "Estos productos no tienen IVA configurado y se documentarán como exentos. Si deben llevar "
                f"IVA: {FIX_TAXES}; o marca «Tratar productos sin impuesto como afectos (IVA incluido)» en "
                "Configuración.",
                list(untaxed)[:10],
            )
        )
    elif untaxed:
        findings.append(
            TaxFinding(
                "info",
                "Estos productos no tienen impuestos en Jumpseller: como marcaste «tratar productos sin "
                "impuesto como afectos», se documentan con IVA incluido en su precio.",
                list(untaxed)[:10],
            )
        )
    if shipping_untaxed and untaxed_items == "exempt":
        findings.append(
            TaxFinding(
                "warn",
                f"El despacho de {shipping_untaxed} pedido(s) no tiene IVA y se documenta como exento. "
                f"{FIX_TAXES} y marca que también se aplica al despacho.",
            )
        )
    if product_includes and shipping_includes and product_includes != shipping_includes:
        findings.append(
            TaxFinding(
                "warn",
                "Tus productos y el despacho incluyen el IVA de forma distinta (uno en el precio y el otro "
                "sumado aparte). Los documentos salen correctos igual, pero el cliente ve precios distintos "
                "de lo esperado: en Jumpseller (Configuración → Impuestos) marca o desmarca «El precio "
                "incluye impuestos» igual para productos y para despacho.",
            )
        )
    return findings
