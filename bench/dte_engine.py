"""Benchmark of the DTE engine: documents built and validated per second, on one core.

Run from the repository root: ``python -m bench.dte_engine [--seconds 3]``. Each case times the whole
``build_document`` call (parse the order, classify, amounts, body, pre-flight validation) for a 5-line and
a 60-line paid order (products with and without IVA, a line discount, shipping). Boletas are timed with
the rules check the product runs (no boleta schema is shipped) and, when ``../shared/sii-schemas`` or
``SII_SCHEMAS_DIR`` is at hand, also with the boleta XSD; facturas always run the cl-sii ``DTE_v10.xsd``.

Prints one ``BENCH <name> <value> <unit>`` line per case, then a table. Target (issue 3): at least 1,000
documents/s for the 5-line order.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date
from pathlib import Path
from typing import Any

from emission.dte import StoreDteSettings, build_document
from emission.dte.validation import SCHEMAS_ENV

TODAY = date(2026, 11, 29)
IVA = {"id": 1, "name": "IVA", "rate": 19, "fixed": False, "tax_on_product_price": True}
SHIPPING_IVA = {"id": 2, "name": "IVA", "rate": 19, "fixed": False, "tax_on_shipping_price": True}
BUYER = {
    "billing_address": {
        "taxid": "76.430.498-5",
        "address": "Arturo Prat",
        "street_number": "527",
        "municipality": "Curicó",
    },
    "billing_information": {"company_name": "HOSTY SPA", "business_activity": "Servicios informáticos"},
    "customer": {"email": "compras@hosty.cl"},
}


def paid_order(lines: int) -> dict[str, Any]:
    """``lines − 1`` products (every 4th exempt, every 3rd discounted) plus taxed shipping."""
    products = []
    total = 0
    for n in range(lines - 1):
        price = 990 + 1000 * (n % 17)
        qty = 1 + n % 3
        discount = 500 if n % 3 == 2 else 0
        products.append(
            {
                "id": n,
                "sku": f"SKU-{n:03d}",
                "name": f"Producto de prueba número {n}",
                "qty": qty,
                "price": price,
                "discount": discount,
                "taxes": [] if n % 4 == 3 else [IVA],
            }
        )
        total += qty * price - discount
    shipping = 3990
    return {
        "order": {
            "id": 1,
            "currency": "CLP",
            "products": products,
            "shipping": shipping,
            "shipping_method_name": "Starken",
            "shipping_taxes": [SHIPPING_IVA],
            "discount": sum(p["discount"] for p in products),
            "total": total + shipping,
            **BUYER,
        }
    }


def rate(fn, seconds: float) -> float:
    for _ in range(50):  # warm-up: schema parsing, caches
        fn()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(25):
            fn()
        count += 25
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per case")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    settings = StoreDteSettings.demo()
    schemas = Path(
        os.environ.get(SCHEMAS_ENV) or Path(__file__).resolve().parents[1].parent / "shared" / "sii-schemas"
    )
    cases = []
    for lines in (5, 60):
        order = paid_order(lines)
        cases.append((f"dte_boleta_{lines}_lines", order, "boleta", False))
        if (schemas / "BoletaDTE_wrapper.xsd").is_file():
            cases.append((f"dte_boleta_{lines}_lines_xsd", order, "boleta", True))
        cases.append((f"dte_factura_{lines}_lines_xsd", order, "factura", False))

    results = []
    for name, order, document, with_boleta_schema in cases:
        if with_boleta_schema:
            os.environ[SCHEMAS_ENV] = str(schemas)
        else:
            os.environ.pop(SCHEMAS_ENV, None)
        built = build_document(order, document=document, settings=settings, today=TODAY)
        assert built.difference == 0  # noqa: S101 — a benchmark of wrong documents would be worthless
        per_second = rate(
            lambda order=order, document=document: build_document(
                order, document=document, settings=settings, today=TODAY
            ),
            args.seconds,
        )
        results.append((name, per_second))
        print(f"BENCH {name} {per_second:.0f} docs/s", flush=True)

    print()
    print(f"{'case':<30} {'docs/s':>10} {'ms/doc':>10}")
    for name, per_second in results:
        print(f"{name:<30} {per_second:>10.0f} {1000 / per_second:>10.3f}")


if __name__ == "__main__":
    main()
