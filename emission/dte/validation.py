"""Pre-flight validation: a body that fails here never reaches OpenFactura.

Two layers, both raising :class:`SchemaInvalid` with every reason in ``details``:

1. **Rules in code** (:func:`check_rules`): what the schemas leave out or cannot say (dte-rules.md §8
   step 5, §9 #2) — key order and known keys per family (the boleta schema is not shipped, so this is
   its structural check at run time), ``Folio`` 0, RUT check digits, the five receptor fields of a
   factura, ``MntNeto``/``IVA`` present on a 39, at most 60 lines on factura-family documents (format
   p.8/p.31; the schema's ``NroLinDet`` allows 99) and 1000 on boletas, ``IndExeDR`` on every global
   discount of a 34/41, ``CodRef`` on a 61 with a single reference for CodRef 1, every
   ``MontoItem = round(QtyItem × PrcItem) − DescuentoMonto`` and every total recomputed
   (dte-semantics.md §4), lengths of the free texts, ISO-8859-1 printable text.
2. **SII schema** (:func:`check_schema`): the ``dte`` as XML (:mod:`.xml`, schema-shaped TED and
   signature placeholders) against ``DTE_v10.xsd`` for 33/34/61 — at run time the copy shipped in the
   ``cl-sii`` wheel (``cl_sii/data/ref/factura_electronica/schemas-xml/``, MIT) — and for 39/41 against
   ``BoletaDTE_wrapper.xsd`` when a schemas folder is given (tests) or ``SII_SCHEMAS_DIR`` points to one
   that has it; the boleta schema is never shipped with the product, so without it the rules above are
   the boleta check. Schemas are parsed once per path (module-level cache).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree

from .errors import SchemaInvalid
from .money import IVA_PERCENT, MAX_DECIMALS, decimals_of, half_up, iva_of_net, net_of_gross
from .parties import CONSUMIDOR_FINAL_RUT, canonical_rut
from .text import is_printable_latin1
from .xml import dte_to_xml

BOLETAS = frozenset({39, 41})
FACTURA_FAMILY = frozenset({33, 34, 61})
EXEMPT_TYPES = frozenset({34, 41})
SUPPORTED_TYPES = BOLETAS | FACTURA_FAMILY
MAX_LINES_BOLETA = 1000  # EnvioBOLETA_v11.xsd Detalle maxOccurs 1000; [FmtBOL] p.12
MAX_LINES_FACTURA = 60  # DTE_v10.xsd Detalle maxOccurs 60; [FmtDTE] p.8, p.31
MAX_DSC_RCG = 20  # DscRcgGlobal maxOccurs 20
MAX_REFERENCIAS = 40  # NroLinRef 1–40 in the format ([FmtDTE] p.41); the schema allows 99
REFERENCED_TYPES = frozenset({"33", "34", "39", "41", "56", "61"})
SCHEMAS_ENV = "SII_SCHEMAS_DIR"
BOLETA_WRAPPER = "BoletaDTE_wrapper.xsd"
FACTURA_SCHEMA = "DTE_v10.xsd"
_CL_SII_SCHEMAS = ("cl_sii", "data/ref/factura_electronica/schemas-xml/DTE_v10.xsd")
_MAX_REASONS_IN_MESSAGE = 5


def _keys(names: str) -> tuple[str, ...]:
    return tuple(names.split())


# xs:sequence order of every object the product may send (EnvioBOLETA_v11.xsd BOLETADefType).
BOLETA_KEYS: dict[str, tuple[str, ...]] = {
    "dte": _keys("Encabezado Detalle SubTotInfo DscRcgGlobal Referencia"),
    "Encabezado": _keys("IdDoc Emisor Receptor RUTProvSW Totales"),
    "IdDoc": _keys(
        "TipoDTE Folio FchEmis IndServicio IndMntNeto PeriodoDesde PeriodoHasta FchVenc MedioPago"
    ),
    "Emisor": _keys("RUTEmisor RznSocEmisor GiroEmisor CdgSIISucur DirOrigen CmnaOrigen CiudadOrigen"),
    "Receptor": _keys(
        "RUTRecep CdgIntRecep RznSocRecep Contacto CorreoRecep TelefonoRecep DirRecep CmnaRecep "
        "CiudadRecep DirPostal CmnaPostal CiudadPostal"
    ),
    "Totales": _keys("MntNeto MntExe IVA MntTotal MontoNF TotalPeriodo SaldoAnterior VlrPagar"),
    "Detalle": _keys(
        "NroLinDet CdgItem IndExe ItemEspectaculo RUTMandante NmbItem InfoTicket DscItem QtyItem "
        "UnmdItem PrcItem DescuentoPct DescuentoMonto RecargoPct RecargoMonto MontoItem"
    ),
    "DscRcgGlobal": _keys("NroLinDR TpoMov GlosaDR TpoValor ValorDR IndExeDR"),
    "Referencia": _keys("NroLinRef TpoDocRef FolioRef CodRef RazonRef CodVndor CodCaja"),
}
# DTE_v10.xsd DTEDefType/Documento.
FACTURA_KEYS: dict[str, tuple[str, ...]] = {
    "dte": _keys("Encabezado Detalle SubTotInfo DscRcgGlobal Referencia Comisiones"),
    "Encabezado": _keys("IdDoc Emisor RUTMandante Receptor RUTSolicita Transporte Totales"),
    "IdDoc": _keys(
        "TipoDTE Folio FchEmis IndNoRebaja TipoDespacho IndTraslado TpoImpresion IndServicio "
        "MntBruto TpoTranCompra TpoTranVenta FmaPago FmaPagExp FchCancel MntCancel SaldoInsol "
        "MntPagos PeriodoDesde PeriodoHasta MedioPago TpoCtaPago NumCtaPago BcoPago TermPagoCdg "
        "TermPagoGlosa TermPagoDias FchVenc"
    ),
    "Emisor": _keys(
        "RUTEmisor RznSoc GiroEmis Telefono CorreoEmisor Acteco GuiaExport Sucursal CdgSIISucur "
        "DirOrigen CmnaOrigen CiudadOrigen CdgVendedor IdAdicEmisor"
    ),
    "Receptor": _keys(
        "RUTRecep CdgIntRecep RznSocRecep Extranjero GiroRecep Contacto CorreoRecep DirRecep "
        "CmnaRecep CiudadRecep DirPostal CmnaPostal CiudadPostal"
    ),
    "Totales": _keys(
        "MntNeto MntExe MntBase MntMargenCom TasaIVA IVA IVAProp IVATerc ImptoReten IVANoRet "
        "CredEC GrntDep Comisiones MntTotal MontoNF MontoPeriodo SaldoAnterior VlrPagar"
    ),
    "Detalle": _keys(
        "NroLinDet CdgItem IndExe Retenedor NmbItem DscItem QtyRef UnmdRef PrcRef QtyItem "
        "Subcantidad FchElabor FchVencim UnmdItem PrcItem OtrMnda DescuentoPct DescuentoMonto "
        "SubDscto RecargoPct RecargoMonto SubRecargo CodImpAdic MontoItem"
    ),
    "DscRcgGlobal": _keys("NroLinDR TpoMov GlosaDR TpoValor ValorDR ValorDROtrMnda IndExeDR"),
    "Referencia": _keys("NroLinRef TpoDocRef IndGlobal FolioRef RUTOtr FchRef CodRef RazonRef"),
}
_POSITIONS = {
    family: {section: {key: i for i, key in enumerate(keys)} for section, keys in spec.items()}
    for family, spec in (("boleta", BOLETA_KEYS), ("factura", FACTURA_KEYS))
}

# maxLength of the free texts (both schemas; RznSocRecep 100 in the 2024+ boleta schema).
MAX_LENGTHS: dict[str, int] = {
    "RznSoc": 100,
    "RznSocEmisor": 100,
    "GiroEmis": 80,
    "GiroEmisor": 80,
    "DirOrigen": 70,
    "CmnaOrigen": 20,
    "CiudadOrigen": 20,
    "RznSocRecep": 100,
    "CdgIntRecep": 20,
    "GiroRecep": 40,
    "Contacto": 80,
    "CorreoRecep": 80,
    "DirRecep": 70,
    "CmnaRecep": 20,
    "CiudadRecep": 20,
    "NmbItem": 80,
    "DscItem": 1000,
    "GlosaDR": 45,
    "TpoDocRef": 3,
    "FolioRef": 18,
    "RazonRef": 90,
}
_REQUIRED_RECEPTOR_FACTURA = ("RznSocRecep", "GiroRecep", "DirRecep", "CmnaRecep")


# --- helpers --------------------------------------------------------------------------------------


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Decimal | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _integer(value: Any) -> int | None:
    number = _number(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if type(value) is dict or isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if type(value) is list else list(value) if isinstance(value, tuple) else []


class _Reasons(list[str]):
    def add(self, where: str, problem: str) -> None:
        self.append(f"{where}: {problem}")


def _check_keys(obj: Mapping[str, Any], section: str, where: str, family: str, reasons: _Reasons) -> None:
    positions = _POSITIONS[family][section]
    last = -1
    previous = ""
    for key in obj:
        position = positions.get(key)
        if position is None:
            reasons.add(where, f"campo «{key}» no corresponde a este tipo de documento")
            continue
        if position < last:
            reasons.add(where, f"«{key}» debe ir antes de «{previous}» (orden del esquema del SII)")
        else:
            last, previous = position, key


def _check_texts(obj: Mapping[str, Any], where: str, reasons: _Reasons) -> None:
    for key, value in obj.items():
        kind = type(value)
        if kind is dict or kind is list:
            continue
        if kind is str:
            if not is_printable_latin1(value):
                reasons.add(where, f"«{key}» tiene caracteres que el SII no admite")
            limit = MAX_LENGTHS.get(key)
            if limit is not None and len(value) > limit:
                reasons.add(where, f"«{key}» supera {limit} caracteres")
        elif key in MAX_LENGTHS and value is not None and key not in ("FolioRef", "TpoDocRef"):
            reasons.add(where, f"«{key}» debe ser texto")


# --- rules ----------------------------------------------------------------------------------------


def check_rules(body: Mapping[str, Any]) -> list[str]:
    """Every reason the body breaks an SII or OpenFactura rule (empty list = valid)."""
    reasons = _Reasons()
    if not isinstance(body, Mapping):
        return ["cuerpo: no es un objeto JSON"]
    dte = body.get("dte")
    if not isinstance(dte, Mapping):
        return ["cuerpo: falta «dte»"]
    response = body.get("response")
    if response is not None and not (
        isinstance(response, list) and all(isinstance(part, str) for part in response)
    ):
        reasons.add("response", "debe ser una lista de textos")
    encabezado = _mapping(dte.get("Encabezado"))
    id_doc = _mapping(encabezado.get("IdDoc"))
    tipo = _integer(id_doc.get("TipoDTE"))
    if tipo not in SUPPORTED_TYPES:
        return [f"IdDoc: TipoDTE {id_doc.get('TipoDTE')!r} no soportado (33, 34, 39, 41 o 61)"]
    family = "boleta" if tipo in BOLETAS else "factura"

    _check_keys(dte, "dte", "dte", family, reasons)
    for section in ("IdDoc", "Emisor", "Receptor", "Totales"):
        if not isinstance(encabezado.get(section), Mapping):
            reasons.add("Encabezado", f"falta «{section}»")
    _check_keys(encabezado, "Encabezado", "Encabezado", family, reasons)
    emisor = _mapping(encabezado.get("Emisor"))
    receptor = _mapping(encabezado.get("Receptor"))
    totales_data = _mapping(encabezado.get("Totales"))
    sections = {"IdDoc": id_doc, "Emisor": emisor, "Receptor": receptor, "Totales": totales_data}
    for section, obj in sections.items():
        _check_keys(obj, section, section, family, reasons)
        _check_texts(obj, section, reasons)

    _check_id_doc(id_doc, tipo, reasons)
    _check_emisor(emisor, tipo, reasons)
    _check_receptor(receptor, tipo, reasons)
    lines = _check_detalle(dte.get("Detalle"), tipo, family, reasons)
    discounts = _check_dsc_rcg(dte.get("DscRcgGlobal"), tipo, family, reasons)
    _check_referencias(dte.get("Referencia"), tipo, family, id_doc, reasons)
    if not reasons:
        _check_totals(lines, discounts, totales_data, id_doc, tipo, reasons)
    return list(reasons)


def _check_id_doc(id_doc: Mapping[str, Any], tipo: int, reasons: _Reasons) -> None:
    if _integer(id_doc.get("Folio")) != 0:
        reasons.add("IdDoc", "Folio debe ser 0 (OpenFactura asigna el folio)")
    if _date(id_doc.get("FchEmis")) is None:
        reasons.add("IdDoc", f"FchEmis {id_doc.get('FchEmis')!r} no es una fecha AAAA-MM-DD")
    if tipo in BOLETAS:
        if _integer(id_doc.get("IndServicio")) not in (1, 2, 3, 4):
            reasons.add("IdDoc", "IndServicio es obligatorio en boletas (3: ventas y servicios)")
        if tipo == 41 and "IndMntNeto" in id_doc:
            reasons.add("IdDoc", "IndMntNeto no corresponde a una boleta exenta")
        if "MedioPago" in id_doc and _integer(id_doc["MedioPago"]) not in (1, 2, 3, 4, 5):
            reasons.add("IdDoc", f"MedioPago {id_doc['MedioPago']!r} no es válido (1 a 5)")
    else:
        if tipo in (33, 34) and _integer(id_doc.get("FmaPago")) not in (1, 2, 3):
            reasons.add("IdDoc", "FmaPago es obligatorio en facturas (1 contado, 2 crédito, 3 sin costo)")
        if "MntBruto" in id_doc and _integer(id_doc["MntBruto"]) != 1:
            reasons.add("IdDoc", "MntBruto solo puede ser 1")


def _check_emisor(emisor: Mapping[str, Any], tipo: int, reasons: _Reasons) -> None:
    rut = emisor.get("RUTEmisor")
    if not isinstance(rut, str) or canonical_rut(rut) != rut:
        reasons.add("Emisor", f"RUTEmisor {rut!r} no es un RUT válido (formato 12345678-5)")
    names = ("RznSocEmisor", "GiroEmisor") if tipo in BOLETAS else ("RznSoc", "GiroEmis")
    for name in names:
        if not (isinstance(emisor.get(name), str) and emisor[name].strip()):
            reasons.add("Emisor", f"falta {name}")
    if tipo not in BOLETAS:
        actecos = emisor.get("Acteco")
        actecos = actecos if isinstance(actecos, list) else [actecos]
        if not 1 <= len(actecos) <= 4 or any(
            (code := _integer(a)) is None or not 0 < code < 1_000_000 for a in actecos
        ):
            reasons.add("Emisor", f"Acteco {emisor.get('Acteco')!r} no es un código de actividad válido")
    if "CdgSIISucur" in emisor:
        code = _integer(emisor["CdgSIISucur"])
        if code is None or not 0 < code < 1_000_000_000:
            reasons.add("Emisor", f"CdgSIISucur {emisor['CdgSIISucur']!r} no es válido")


def _check_receptor(receptor: Mapping[str, Any], tipo: int, reasons: _Reasons) -> None:
    rut = receptor.get("RUTRecep")
    if not isinstance(rut, str) or canonical_rut(rut) != rut:
        reasons.add("Receptor", f"RUTRecep {rut!r} no es un RUT válido (formato 12345678-5)")
    if tipo in (33, 34):
        if rut == CONSUMIDOR_FINAL_RUT:
            reasons.add("Receptor", "una factura no puede ir al RUT de consumidor final 66666666-6")
        for name in _REQUIRED_RECEPTOR_FACTURA:
            if not (isinstance(receptor.get(name), str) and receptor[name].strip()):
                reasons.add("Receptor", f"falta {name} (obligatorio en facturas)")
    elif tipo == 61 and not (
        isinstance(receptor.get("RznSocRecep"), str) and receptor["RznSocRecep"].strip()
    ):
        reasons.add("Receptor", "falta RznSocRecep")


def _decimal_field(line: Mapping[str, Any], key: str, where: str, reasons: _Reasons) -> Decimal | None:
    if key not in line:
        return None
    value = _number(line[key])
    if value is None or value <= 0:
        reasons.add(where, f"{key} {line[key]!r} debe ser un número mayor que 0")
        return None
    if decimals_of(value) > MAX_DECIMALS:
        reasons.add(where, f"{key} {line[key]!r} tiene más de {MAX_DECIMALS} decimales")
        return None
    return value


def _check_detalle(value: Any, tipo: int, family: str, reasons: _Reasons) -> list[tuple[str, int]]:
    """``[(class, MontoItem)]`` per line, class ``taxed`` or ``exempt``."""
    lines = _list(value)
    limit = MAX_LINES_BOLETA if family == "boleta" else MAX_LINES_FACTURA
    if not lines:
        reasons.add("Detalle", "el documento necesita al menos una línea")
    if len(lines) > limit:
        reasons.add("Detalle", f"{len(lines)} líneas; el SII admite {limit}")
    classes: list[tuple[str, int]] = []
    for number, line in enumerate(lines, start=1):
        where = f"Detalle línea {number}"
        if not isinstance(line, Mapping):
            reasons.add(where, "no es un objeto")
            continue
        _check_keys(line, "Detalle", where, family, reasons)
        _check_texts(line, where, reasons)
        if _integer(line.get("NroLinDet")) != number:
            reasons.add(where, f"NroLinDet debe ser {number}")
        if not (isinstance(line.get("NmbItem"), str) and line["NmbItem"].strip()):
            reasons.add(where, "falta NmbItem")
        qty = _decimal_field(line, "QtyItem", where, reasons)
        price = _decimal_field(line, "PrcItem", where, reasons)
        amount = _integer(line.get("MontoItem"))
        if amount is None or amount < 0:
            reasons.add(where, f"MontoItem {line.get('MontoItem')!r} debe ser un entero no negativo")
            continue
        discount = 0
        if "DescuentoMonto" in line:
            discount_value = _integer(line["DescuentoMonto"])
            minimum = 0 if family == "boleta" else 1  # factura: MntImpType (positiveInteger)
            if discount_value is None or discount_value < minimum:
                reasons.add(where, f"DescuentoMonto {line['DescuentoMonto']!r} no es válido")
            else:
                discount = discount_value
        if "IndExe" in line and _integer(line["IndExe"]) != 1:
            reasons.add(where, f"IndExe {line['IndExe']!r} no soportado (solo 1: exento)")
        if price is not None:
            expected = half_up((qty if qty is not None else Decimal(1)) * price) - discount
            if expected != amount:
                reasons.add(
                    where, f"MontoItem {amount} ≠ round(QtyItem × PrcItem) − DescuentoMonto = {expected}"
                )
        elif "PrcItem" not in line and amount != 0:
            reasons.add(where, "sin PrcItem el MontoItem debe ser 0 (ítem gratuito)")
        exempt = tipo in EXEMPT_TYPES or _integer(line.get("IndExe")) == 1
        classes.append(("exempt" if exempt else "taxed", amount))
    return classes


def _check_dsc_rcg(
    value: Any, tipo: int, family: str, reasons: _Reasons
) -> list[tuple[str, str, Decimal, str]]:
    """``[(class, TpoMov, ValorDR, TpoValor)]`` per global discount or surcharge."""
    entries = _list(value)
    if len(entries) > MAX_DSC_RCG:
        reasons.add("DscRcgGlobal", f"{len(entries)} entradas; el SII admite {MAX_DSC_RCG}")
    result = []
    for number, entry in enumerate(entries, start=1):
        where = f"DscRcgGlobal {number}"
        if not isinstance(entry, Mapping):
            reasons.add(where, "no es un objeto")
            continue
        _check_keys(entry, "DscRcgGlobal", where, family, reasons)
        _check_texts(entry, where, reasons)
        if _integer(entry.get("NroLinDR")) != number:
            reasons.add(where, f"NroLinDR debe ser {number}")
        movement, kind = entry.get("TpoMov"), entry.get("TpoValor")
        if movement not in ("D", "R"):
            reasons.add(where, f"TpoMov {movement!r} debe ser D o R")
        if kind not in ("$", "%"):
            reasons.add(where, f"TpoValor {kind!r} debe ser $ o %")
        amount = _number(entry.get("ValorDR"))
        if amount is None or amount <= 0 or decimals_of(amount) > 2:
            reasons.add(where, f"ValorDR {entry.get('ValorDR')!r} debe ser mayor que 0 con hasta 2 decimales")
            continue
        indicator = _integer(entry.get("IndExeDR")) if "IndExeDR" in entry else None
        if indicator not in (None, 1):
            reasons.add(where, f"IndExeDR {entry.get('IndExeDR')!r} no soportado (solo 1: exento)")
        if tipo in EXEMPT_TYPES and indicator != 1:
            reasons.add(where, "en un documento exento el descuento debe llevar IndExeDR 1")
        result.append(("exempt" if indicator == 1 else "taxed", str(movement), amount, str(kind)))
    return result


def _check_referencias(
    value: Any, tipo: int, family: str, id_doc: Mapping[str, Any], reasons: _Reasons
) -> None:
    entries = _list(value)
    if tipo == 61 and not entries:
        reasons.add("Referencia", "una nota de crédito debe referenciar el documento que corrige")
    if len(entries) > MAX_REFERENCIAS:
        reasons.add("Referencia", f"{len(entries)} referencias; el SII admite {MAX_REFERENCIAS}")
    emitted = _date(id_doc.get("FchEmis"))
    codes = []
    for number, entry in enumerate(entries, start=1):
        where = f"Referencia {number}"
        if not isinstance(entry, Mapping):
            reasons.add(where, "no es un objeto")
            continue
        _check_keys(entry, "Referencia", where, family, reasons)
        _check_texts(entry, where, reasons)
        if _integer(entry.get("NroLinRef")) != number:
            reasons.add(where, f"NroLinRef debe ser {number}")
        if str(entry.get("TpoDocRef")) not in REFERENCED_TYPES:
            reasons.add(where, f"TpoDocRef {entry.get('TpoDocRef')!r} no es un tipo de documento soportado")
        folio = entry.get("FolioRef")
        if folio is None or str(folio).strip() in ("", "0") or len(str(folio)) > 18:
            reasons.add(where, "FolioRef debe ser el folio del documento referenciado")
        if family == "factura":
            referenced = _date(entry.get("FchRef"))
            if referenced is None:
                reasons.add(where, "FchRef debe ser la fecha del documento referenciado (AAAA-MM-DD)")
            elif emitted is not None and referenced > emitted:
                reasons.add(where, "FchRef no puede ser posterior a la fecha de emisión")
        code = _integer(entry.get("CodRef")) if "CodRef" in entry else None
        if tipo == 61 and code not in (1, 2, 3):
            reasons.add(where, "CodRef es obligatorio en notas de crédito (1 anula, 2 texto, 3 montos)")
        codes.append(code)
    if tipo == 61 and (1 in codes or 2 in codes) and len(entries) != 1:
        reasons.add("Referencia", "una nota que anula o corrige texto lleva una sola referencia")


def _check_totals(
    lines: Sequence[tuple[str, int]],
    discounts: Sequence[tuple[str, str, Decimal, str]],
    totales_data: Mapping[str, Any],
    id_doc: Mapping[str, Any],
    tipo: int,
    reasons: _Reasons,
) -> None:
    sums = {"taxed": 0, "exempt": 0}
    for kind, amount in lines:
        sums[kind] += amount
    bases = dict(sums)
    for kind, movement, value, value_kind in discounts:
        amount = half_up(value * bases[kind] / 100) if value_kind == "%" else half_up(value)
        sums[kind] += -amount if movement == "D" else amount
    if sums["taxed"] < 0 or sums["exempt"] < 0:
        reasons.add("DscRcgGlobal", "los descuentos globales superan el monto de las líneas")
        return
    taxed = sums["taxed"]
    if tipo in EXEMPT_TYPES:
        neto, iva = 0, 0
        if taxed:
            reasons.add("DscRcgGlobal", "un documento exento no tiene montos afectos")
    elif tipo in BOLETAS or _integer(id_doc.get("MntBruto")) == 1:
        neto = net_of_gross(taxed)  # gross lines: IVA = T − round(T / 1.19) (dte-semantics.md §4)
        iva = taxed - neto
    else:
        neto, iva = taxed, iva_of_net(taxed)  # net lines: IVA on the total
    if tipo in (33, 39) and neto <= 0:
        reasons.add("Totales", f"sin montos afectos corresponde el tipo {34 if tipo == 33 else 41}")
    exe = sums["exempt"]
    expected = {"MntNeto": neto, "MntExe": exe, "IVA": iva, "MntTotal": neto + iva + exe}

    for name in ("MntNeto", "MntExe", "IVA", "MntTotal", "TasaIVA"):
        value = _integer(totales_data[name]) if name in totales_data else 0
        if value is None or value < 0:
            reasons.add("Totales", f"{name} {totales_data[name]!r} debe ser un entero no negativo")
            return
    if tipo in EXEMPT_TYPES:
        for name in ("MntNeto", "IVA", "TasaIVA"):
            if name in totales_data:
                reasons.add("Totales", f"{name} no corresponde a un documento exento")
    has_iva = tipo in (33, 39) or (tipo == 61 and (neto > 0 or "MntNeto" in totales_data))
    if has_iva:
        for name in ("MntNeto", "IVA"):
            if name not in totales_data:
                reasons.add("Totales", f"falta {name}")
    if tipo in BOLETAS and "TasaIVA" in totales_data:
        reasons.add("Totales", "TasaIVA no es un campo de boleta")
    if tipo in FACTURA_FAMILY and has_iva and _integer(totales_data.get("TasaIVA")) != IVA_PERCENT:
        reasons.add("Totales", f"TasaIVA debe ser {IVA_PERCENT}")
    if expected["MntExe"] and "MntExe" not in totales_data:
        reasons.add("Totales", "falta MntExe")
    if tipo in EXEMPT_TYPES and "MntExe" not in totales_data:
        reasons.add("Totales", "falta MntExe")
    for name, value in expected.items():
        given = _integer(totales_data.get(name, 0))
        if given != value:
            reasons.add("Totales", f"{name} {totales_data.get(name)!r} no cuadra con las líneas ({value})")


# --- schema ---------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _load_schema(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(path))


@lru_cache(maxsize=1)
def cl_sii_factura_schema_path() -> str:
    package, relative = _CL_SII_SCHEMAS
    return str(resources.files(package).joinpath(relative))


def _schema_path(tipo: int, schemas_dir: Path | None) -> str | None:
    if tipo in BOLETAS:
        folder = schemas_dir
        if folder is None and os.environ.get(SCHEMAS_ENV):
            folder = Path(os.environ[SCHEMAS_ENV])
        if folder is not None and (folder / BOLETA_WRAPPER).is_file():
            return str(folder / BOLETA_WRAPPER)
        return None
    if schemas_dir is not None:
        return str(schemas_dir / FACTURA_SCHEMA)
    return cl_sii_factura_schema_path()


def _schema_message(message: str) -> str:
    return message.replace(f"{{{'http://www.sii.cl/SiiDte'}}}", "").replace(
        "{http://www.w3.org/2000/09/xmldsig#}", "ds:"
    )


def check_schema(body: Mapping[str, Any], *, schemas_dir: Path | None = None) -> list[str]:
    """Reasons the ``dte`` fails the SII schema (empty when valid or when no boleta schema is at hand)."""
    dte = body["dte"]
    tipo = _integer(_mapping(_mapping(dte.get("Encabezado")).get("IdDoc")).get("TipoDTE")) or 0
    path = _schema_path(tipo, schemas_dir)
    if path is None:
        return []
    schema = _load_schema(path)
    try:
        document = dte_to_xml(dte)
    except (ValueError, TypeError) as error:  # XmlError included
        return [f"XML: {error}"]
    if schema.validate(document):
        return []
    return [f"esquema SII: {_schema_message(entry.message)}" for entry in schema.error_log]


def validate_body(body: Mapping[str, Any], *, schemas_dir: Path | None = None) -> None:
    """Raise :class:`SchemaInvalid` (Spanish message, reasons in ``details``) unless the body may be sent."""
    reasons = check_rules(body)
    if not reasons:
        reasons = check_schema(body, schemas_dir=schemas_dir)
    if reasons:
        shown = "; ".join(reasons[:_MAX_REASONS_IN_MESSAGE])
        more = len(reasons) - _MAX_REASONS_IN_MESSAGE
        suffix = f" (y {more} más)" if more > 0 else ""
        raise SchemaInvalid(
            "El documento no pasó la validación previa al envío y no se envió a OpenFactura: "
            f"{shown}{suffix}.",
            details=tuple(reasons),
        )
