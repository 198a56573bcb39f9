"""The OpenFactura body: ``{"response", "dte", "custom"}`` with every object's keys in SII schema order.

openfactura-api.md §2.2–§2.3: ``dte`` is the JSON form of the SII XML and "section order matters";
dte-semantics.md §4: "the keys of every object in the order of the SII schema". Python dicts keep
insertion order, so each builder below inserts keys in the ``xs:sequence`` order of the schema:

* ``dte``: Encabezado, Detalle, DscRcgGlobal, Referencia (DTE_v10.xsd ``Documento``; same order in
  EnvioBOLETA_v11.xsd ``BOLETADefType``);
* ``Encabezado``: IdDoc, Emisor, Receptor, Totales;
* ``IdDoc``: TipoDTE, Folio, FchEmis, IndServicio (boleta), MedioPago (boleta) / FmaPago (factura);
* ``Totales``: MntNeto, MntExe, TasaIVA (factura only), IVA, MntTotal;
* ``Detalle``: NroLinDet, IndExe, NmbItem, QtyItem, PrcItem, DescuentoMonto, MontoItem;
* ``DscRcgGlobal``: NroLinDR, TpoMov, GlosaDR, TpoValor, ValorDR, IndExeDR;
* ``Referencia``: NroLinRef, TpoDocRef, FolioRef, FchRef, CodRef, RazonRef.

Fixed values: ``Folio`` 0 (OpenFactura assigns it, §2.3); ``IndServicio`` 3 "ventas y servicios" on
boletas ([FmtBOL] p.8); ``FmaPago`` 1 contado on facturas (mandatory since 2017, [FmtDTE] p.3; an online
order is paid before it is invoiced); ``TasaIVA`` 19 only on factura-family documents with IVA (not a
boleta field). ``response`` asks for the folio and the PDF; ``custom.origin`` "JUMPSELLER" as Haulmer's
own plugins label theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .amounts import BOLETA, BOLETA_EXENTA, DetailLine, GlobalDiscount, Totals
from .money import IVA_PERCENT, json_number

RESPONSE = ("FOLIO", "PDF")
ORIGIN = "JUMPSELLER"
BOLETA_TYPES = frozenset({BOLETA, BOLETA_EXENTA})
IND_SERVICIO_VENTAS = 3
FMA_PAGO_CONTADO = 1
TIPO_NAMES = {
    33: "factura",
    34: "factura exenta",
    39: "boleta",
    41: "boleta exenta",
    61: "nota de crédito",
}


@dataclass(frozen=True)
class BuiltDocument:
    """A document ready to POST to ``/v2/dte/document`` (already validated).

    ``totals``: ``{"MntNeto", "MntExe", "IVA", "MntTotal"}`` (``None`` when absent); ``difference``:
    ``MntTotal`` minus what it must match (the paid total for an order, the original's total for an
    annulment, the requested amount for a partial nota); ``warnings``: Spanish, for the merchant.
    """

    body: dict[str, Any]
    tipo: int
    totals: dict[str, int | None]
    difference: int
    warnings: list[str] = field(default_factory=list)
    expected_total: int | None = None


def id_doc(tipo: int, today: date, *, medio_pago: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"TipoDTE": tipo, "Folio": 0, "FchEmis": today.isoformat()}
    if tipo in BOLETA_TYPES:
        data["IndServicio"] = IND_SERVICIO_VENTAS
        if medio_pago is not None:
            data["MedioPago"] = medio_pago
    elif tipo in (33, 34):
        data["FmaPago"] = FMA_PAGO_CONTADO
    return data


def totales(tipo: int, totals: Totals) -> dict[str, int]:
    data: dict[str, int] = {}
    if totals.neto is not None:
        data["MntNeto"] = totals.neto
    if totals.exe is not None:
        data["MntExe"] = totals.exe
    if totals.iva is not None:
        if tipo not in BOLETA_TYPES:
            data["TasaIVA"] = IVA_PERCENT
        data["IVA"] = totals.iva
    data["MntTotal"] = totals.total
    return data


def detalle(lines: Sequence[DetailLine]) -> list[dict[str, Any]]:
    entries = []
    for number, line in enumerate(lines, start=1):
        entry: dict[str, Any] = {"NroLinDet": number}
        if line.exempt:
            entry["IndExe"] = 1
        entry["NmbItem"] = line.name
        if line.qty is not None:
            entry["QtyItem"] = json_number(line.qty)
        if line.price is not None:
            entry["PrcItem"] = json_number(line.price)
            if line.discount > 0:
                entry["DescuentoMonto"] = line.discount
        entry["MontoItem"] = line.amount
        entries.append(entry)
    return entries


def dsc_rcg_global(discounts: Sequence[GlobalDiscount]) -> list[dict[str, Any]]:
    entries = []
    for number, discount in enumerate(discounts, start=1):
        entry: dict[str, Any] = {
            "NroLinDR": number,
            "TpoMov": "D",
            "GlosaDR": discount.glosa,
            "TpoValor": "$",
            "ValorDR": discount.value,
        }
        if discount.exempt:
            entry["IndExeDR"] = 1
        entries.append(entry)
    return entries


def assemble(
    *,
    id_doc_data: dict[str, Any],
    emisor: dict[str, Any],
    receptor: dict[str, Any],
    totales_data: dict[str, Any],
    detalle_data: list[dict[str, Any]],
    dsc_rcg: list[dict[str, Any]] | None = None,
    referencia: list[dict[str, Any]] | None = None,
    information_note: str | None = None,
) -> dict[str, Any]:
    dte: dict[str, Any] = {
        "Encabezado": {
            "IdDoc": id_doc_data,
            "Emisor": emisor,
            "Receptor": receptor,
            "Totales": totales_data,
        },
        "Detalle": detalle_data,
    }
    if dsc_rcg:
        dte["DscRcgGlobal"] = dsc_rcg
    if referencia:
        dte["Referencia"] = referencia
    custom: dict[str, Any] = {"origin": ORIGIN}
    if information_note:
        custom["informationNote"] = information_note
    return {"response": list(RESPONSE), "dte": dte, "custom": custom}
