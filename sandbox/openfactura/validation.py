"""The fake OpenFactura's own check of an emission body: an independent implementation of the SII rules.

It deliberately shares no code with the product's DTE engine (``emission``): if both were built from
one function, one mistake in it would hide itself. Pure Python, no Django, ``Decimal`` with half-up
rounding everywhere (Python's ``round()`` is banker's rounding).

Sources (``../shared/reference``): ``openfactura-api.md`` §2 (body, key names per family, OF codes),
§3 (worked examples), §4 (self-service); ``dte-rules.md`` §1–§2 (types, totals, limits);
``dte-semantics.md`` §4 (formulas).

Order of the checks, each one answering the first failing group (``Rejection``):

1. body shape → OF-20 / OF-01; ``response`` values → OF-10;
2. ``TipoDTE`` ∈ {33, 34, 39, 41, 56, 61} → OF-05;
3. ``Folio`` 0 (or absent) → OF-07 "Validación de Folios";
4. required fields of the document family → OF-02 with one detail per missing field (the whole
   receptor — RUT, razón social, giro, dirección, comuna — on 33, 34, 56 and 61);
5. ``RUTEmisor`` must be the API key's taxpayer → OF-03 "Validación de Permisos";
6. formats (dates, RUT check digits, lengths, line counts, quantities, indicators) → OF-10;
7. amounts: every ``MontoItem`` and every total recomputed from the lines → OF-10, details
   ``{"field", "issue": "Monto erróneo : <value sent>", "expected": <value computed>}`` (+ ``"line"``).

Choice (openfactura-api.md §2.5 shows only ``"Monto erróneo : 1000"``): the ``issue`` carries the value
the sender gave, exactly in the documented form; the recomputed value travels in an extra ``expected``
key (and line errors in ``line``), which readers of ``{field, issue}`` simply ignore.

Tolerated (§9 #5, #6): ``TasaIVA`` and ``Acteco`` in a boleta are accepted and ignored (dropped from
the boleta XML) with a ``WARNING``. Schema validation (OF-08) runs afterwards, in ``xml.py``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

BOLETAS = frozenset({39, 41})
FACTURA_FAMILY = frozenset({33, 34, 56, 61})
SUPPORTED_TYPES = frozenset(BOLETAS | FACTURA_FAMILY)
EXEMPT_TYPES = frozenset({34, 41})
NOTAS = frozenset({56, 61})

TIPO_NAMES = {
    33: "FACTURA ELECTRÓNICA",
    34: "FACTURA NO AFECTA O EXENTA ELECTRÓNICA",
    39: "BOLETA ELECTRÓNICA",
    41: "BOLETA NO AFECTA O EXENTA ELECTRÓNICA",
    56: "NOTA DE DÉBITO ELECTRÓNICA",
    61: "NOTA DE CRÉDITO ELECTRÓNICA",
}

# openfactura-api.md §2.2 (response[] values, incl. LETTER_80MM of §9 #16).
RESPONSE_PARTS = frozenset(
    {"XML", "PDF", "TIMBRE", "LOGO", "FOLIO", "RESOLUCION", "SELF_SERVICE", "LETTER", "80MM", "80MMNOLOGO"}
    | {"LETTER_80MM"}
)

# Official messages of the OF codes (openfactura-api.md §2.5).
OF_MESSAGES = {
    "OF-01": "Faltan datos obligatorios",
    "OF-02": "Faltan campos obligatorios en el dte",
    "OF-03": "Validación de Permisos",
    "OF-04": "Validación de Firma electrónica",
    "OF-05": "Tipo DTE no soportado",
    "OF-06": "Validación Idempotencia",
    "OF-07": "Validación de Folios",
    "OF-08": "Validación de Esquema",
    "OF-09": "Validación de Relaciones",
    "OF-10": "Validación de Campos",
    "OF-11": "Validación de PDF",
    "OF-12": "Generación XML",
    "OF-13": "Error en DB",
    "OF-20": "Datos de entrada incorrectos",
    "OF-21": "Base de datos no disponible, intente más tarde",
    "OF-22": "Problema al procesar los datos",
    "OF-23": "DTE no soportado",
}

IVA_RATE = Decimal("0.19")
IVA_FACTOR = Decimal("1.19")
MAX_LINES = {"boleta": 1000, "factura": 60}  # dte-rules.md §2.3 / SII format (XSD: 60 and 1000)
MAX_DR = 20
MAX_DECIMALS = 6  # Dec12_6Type
REQUIRED = "Campo requerido"

# Maximum lengths of the SII format (XSD types; dte-semantics.md §5).
MAX_LENGTHS = {
    ("Emisor", "RznSoc"): 100,
    ("Emisor", "RznSocEmisor"): 100,
    ("Emisor", "GiroEmis"): 80,
    ("Emisor", "GiroEmisor"): 80,
    ("Emisor", "DirOrigen"): 70,
    ("Emisor", "CmnaOrigen"): 20,
    ("Receptor", "RznSocRecep"): 100,
    ("Receptor", "GiroRecep"): 40,
    ("Receptor", "DirRecep"): 70,
    ("Receptor", "CmnaRecep"): 20,
}

CONSUMIDOR_FINAL = "66666666-6"


# --- errors ------------------------------------------------------------------------------------
class Rejection(Exception):
    """A 400 answer: ``{"error": {"message", "code", "details": [...]}}`` (§2.5)."""

    def __init__(self, code: str, details: list[dict[str, Any]] | None = None, *, message: str = "") -> None:
        self.code = code
        self.message = message or OF_MESSAGES.get(code, "Error")
        self.details = details or []
        super().__init__(f"{self.code} {self.message} {self.details}")

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def detail(field_name: str, issue: str, **extra: Any) -> dict[str, Any]:
    return {"field": field_name, "issue": issue, **extra}


# --- numbers and RUT ---------------------------------------------------------------------------
def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_decimal(value: Any) -> Decimal | None:
    """A JSON number or numeric string as ``Decimal``; ``None`` when it is not one (booleans aren't)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", value):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


def to_int(value: Any) -> int | None:
    number = to_decimal(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def decimals_of(number: Decimal) -> int:
    normalized = number.normalize()
    exponent = normalized.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


_RUT = re.compile(r"^(\d{1,3}(?:\.\d{3})+|\d{1,9})-([\dkK])$")


def rut_dv(digits: int) -> str:
    """Check digit by módulo 11 (weights 2..7 from the right)."""
    total, factor = 0, 2
    while digits:
        total += (digits % 10) * factor
        digits //= 10
        factor = 2 if factor == 7 else factor + 1
    rest = 11 - total % 11
    return {11: "0", 10: "K"}.get(rest, str(rest))


def parse_rut(value: Any) -> str | None:
    """The canonical ``12345678-5`` form of a RUT with a correct check digit, else ``None``."""
    if not isinstance(value, str):
        return None
    match = _RUT.match(value.strip())
    if not match:
        return None
    digits = int(match.group(1).replace(".", ""))
    dv = match.group(2).upper()
    if digits < 1 or rut_dv(digits) != dv:
        return None
    return f"{digits}-{dv}"


def valid_date(value: Any) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


# --- result ------------------------------------------------------------------------------------
@dataclass
class Totals:
    mnt_neto: int
    iva: int
    mnt_exe: int
    mnt_total: int
    monto_nf: int
    # A global discount aimed at taxed lines (no IndExeDR) of a document that has none (34/41).
    unassigned: int = 0


@dataclass
class Emission:
    """What the validation learned about a valid body."""

    tipo: int
    dte: dict[str, Any]  # the effective DTE (self-service gaps filled), keys in the order received
    response: list[str]
    rut_emisor: str
    rut_recep: str
    fch_emis: str
    totals: Totals
    self_service: bool = False
    issue_boleta: bool = True
    warnings: list[str] = field(default_factory=list)

    @property
    def family(self) -> str:
        return "boleta" if self.tipo in BOLETAS else "factura"


# --- the check ---------------------------------------------------------------------------------
def validate_emission(body: Any, *, organization_rut: str | None = None) -> Emission:
    """Check an emission body; raise :class:`Rejection` or return the :class:`Emission`."""
    if not isinstance(body, dict):
        raise Rejection("OF-20", [detail("body", "El cuerpo debe ser un objeto JSON")])
    dte = body.get("dte")
    if not isinstance(dte, dict) or not dte:
        raise Rejection("OF-01", [detail("dte", REQUIRED)])
    response = _check_response(body.get("response"))
    self_service = isinstance(body.get("selfService"), dict)
    issue_boleta = bool(body["selfService"].get("issueBoleta", True)) if self_service else True

    encabezado = dte.get("Encabezado")
    detalle = dte.get("Detalle")
    shape = []
    if not isinstance(encabezado, dict):
        shape.append(detail("Encabezado", REQUIRED))
    if not isinstance(detalle, list) or not detalle:
        shape.append(detail("Detalle", REQUIRED))
    elif not all(isinstance(line, dict) for line in detalle):
        raise Rejection("OF-20", [detail("Detalle", "Cada línea de detalle debe ser un objeto")])
    if shape:
        raise Rejection("OF-02", shape)
    for section in ("IdDoc", "Emisor", "Receptor", "Totales"):
        if section in encabezado and not isinstance(encabezado[section], dict):
            raise Rejection("OF-20", [detail(section, "Debe ser un objeto")])
    for section in ("DscRcgGlobal", "Referencia"):
        items = dte.get(section)
        if items is not None and not (isinstance(items, list) and all(isinstance(i, dict) for i in items)):
            raise Rejection("OF-20", [detail(section, "Debe ser una lista de objetos")])

    dte = copy.deepcopy(dte)
    tipo = _check_tipo(dte, detalle=dte["Detalle"], self_service=self_service)
    if self_service:
        _fill_self_service(dte, tipo)
    _check_folio(dte)
    _check_required(dte, tipo, self_service=self_service)

    enc = dte["Encabezado"]
    rut_emisor = parse_rut(enc["Emisor"]["RUTEmisor"])
    if organization_rut and rut_emisor and rut_emisor != organization_rut:
        raise Rejection(
            "OF-03",
            [
                detail(
                    "RUTEmisor",
                    f"El RUT emisor {rut_emisor} no corresponde a la API key ({organization_rut})",
                )
            ],
        )
    warnings = _check_formats(dte, tipo)
    totals = _check_amounts(dte, tipo)
    receptor = enc.get("Receptor") or {}
    return Emission(
        tipo=tipo,
        dte=dte,
        response=response,
        rut_emisor=rut_emisor or "",
        rut_recep=parse_rut(receptor.get("RUTRecep")) or CONSUMIDOR_FINAL,
        fch_emis=enc["IdDoc"]["FchEmis"],
        totals=totals,
        self_service=self_service,
        issue_boleta=issue_boleta,
        warnings=warnings,
    )


def _check_response(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Rejection("OF-10", [detail("response", "Debe ser una lista de textos")])
    unknown = [v for v in value if v not in RESPONSE_PARTS]
    if unknown:
        raise Rejection("OF-10", [detail("response", f"{v} es Incorrecto") for v in unknown])
    return list(dict.fromkeys(value))


def _check_tipo(dte: dict, *, detalle: list[dict], self_service: bool) -> int:
    id_doc = dte["Encabezado"].get("IdDoc")
    raw = id_doc.get("TipoDTE") if isinstance(id_doc, dict) else None
    if raw is None and self_service:
        # §4.2: self-service bodies carry no TipoDTE; OpenFactura picks 39 or 41 from the lines.
        return 39 if any(not present(line.get("IndExe")) for line in detalle) else 41
    if raw is None:
        raise Rejection("OF-02", [detail("TipoDTE", REQUIRED)])
    tipo = to_int(raw)
    if tipo not in SUPPORTED_TYPES:
        raise Rejection("OF-05", [detail("TipoDTE", f"{raw} no soportado")])
    return tipo


def _fill_self_service(dte: dict, tipo: int) -> None:
    """Self-service bodies omit TipoDTE, Folio, IndServicio and Receptor (§4.2); fill them in SII order."""
    enc = dte["Encabezado"]
    id_doc = enc.get("IdDoc") if isinstance(enc.get("IdDoc"), dict) else {}
    rest = {k: v for k, v in id_doc.items() if k not in ("TipoDTE", "Folio")}
    filled: dict[str, Any] = {"TipoDTE": tipo, "Folio": id_doc.get("Folio", 0)}
    for key, value in rest.items():
        filled[key] = value
        if key == "FchEmis" and tipo in BOLETAS and "IndServicio" not in rest:
            filled["IndServicio"] = 3
    enc["IdDoc"] = filled
    if "Receptor" not in enc and tipo in BOLETAS:
        reordered: dict[str, Any] = {}
        for key, value in enc.items():
            reordered[key] = value
            if key == "Emisor":
                reordered["Receptor"] = {"RUTRecep": CONSUMIDOR_FINAL}
        enc.clear()
        enc.update(reordered)


def _check_folio(dte: dict) -> None:
    id_doc = dte["Encabezado"].get("IdDoc") or {}
    if "Folio" in id_doc and to_int(id_doc["Folio"]) != 0:
        raise Rejection("OF-07", [detail("Folio", "El folio debe ser 0: OpenFactura lo asigna")])


def _check_required(dte: dict, tipo: int, *, self_service: bool) -> None:
    enc = dte["Encabezado"]
    paths: list[tuple[str, str]] = [("IdDoc", "FchEmis"), ("Emisor", "RUTEmisor"), ("Totales", "MntTotal")]
    if not self_service:  # self-service bodies leave the folio (and TipoDTE, IndServicio) to OpenFactura
        paths.append(("IdDoc", "Folio"))
    if tipo in BOLETAS:
        paths += [("Emisor", "RznSocEmisor"), ("Emisor", "GiroEmisor"), ("Receptor", "RUTRecep")]
        if not self_service:
            paths.append(("IdDoc", "IndServicio"))
    else:
        # Every factura-family document (33, 34, 56, 61) needs the whole receptor: OpenFactura's table
        # marks GiroRecep, DirRecep and CmnaRecep required (openfactura-api.md, Addendum), stricter than the
        # SII format, which leaves them optional on a 61. ``Contacto``, also marked required there, is
        # absent from every accepted example, so it stays optional here.
        paths += [
            ("Emisor", "RznSoc"),
            ("Emisor", "GiroEmis"),
            ("Emisor", "Acteco"),
            ("Receptor", "RUTRecep"),
            ("Receptor", "RznSocRecep"),
            ("Receptor", "GiroRecep"),
            ("Receptor", "DirRecep"),
            ("Receptor", "CmnaRecep"),
        ]
    if tipo == 39:
        paths += [("Totales", "MntNeto"), ("Totales", "IVA")]
    elif tipo == 33:
        paths += [("Totales", "MntNeto"), ("Totales", "TasaIVA"), ("Totales", "IVA")]
    elif tipo in EXEMPT_TYPES:
        paths.append(("Totales", "MntExe"))

    missing = []
    for section, name in paths:
        block = enc.get(section)
        if not isinstance(block, dict):
            if not any(d["field"] == section for d in missing):
                missing.append(detail(section, REQUIRED))
            continue
        if not present(block.get(name)):
            missing.append(detail(name, REQUIRED))
    for line in dte["Detalle"]:
        for name in ("NroLinDet", "NmbItem", "MontoItem"):
            if not present(line.get(name)):
                missing.append(detail(name, REQUIRED, line=line.get("NroLinDet")))
    if tipo in NOTAS:
        references = dte.get("Referencia") or []
        if not references:
            missing.append(detail("Referencia", REQUIRED))
        for ref in references:
            for name in ("NroLinRef", "TpoDocRef", "FolioRef", "FchRef", "CodRef"):
                if not present(ref.get(name)):
                    missing.append(detail(name, REQUIRED, line=ref.get("NroLinRef")))
    if missing:
        raise Rejection("OF-02", missing)


def _check_formats(dte: dict, tipo: int) -> list[str]:
    enc = dte["Encabezado"]
    id_doc, emisor, receptor = enc["IdDoc"], enc["Emisor"], enc.get("Receptor") or {}
    totales = enc["Totales"]
    errors: list[dict[str, Any]] = []
    warnings: list[str] = []

    if not valid_date(id_doc.get("FchEmis")):
        errors.append(detail("FchEmis", "Fecha Incorrecta"))
    for name, value in (("RUTEmisor", emisor.get("RUTEmisor")), ("RUTRecep", receptor.get("RUTRecep"))):
        if present(value) and parse_rut(value) is None:
            errors.append(detail(name, f"RUT inválido : {value}"))
    for (section, name), limit in MAX_LENGTHS.items():
        value = (emisor if section == "Emisor" else receptor).get(name)
        if isinstance(value, str) and len(value) > limit:
            errors.append(detail(name, f"Largo máximo {limit} caracteres"))
        elif value is not None and not isinstance(value, str):
            errors.append(detail(name, "Debe ser texto"))

    if tipo in BOLETAS:
        if present(id_doc.get("IndServicio")) and to_int(id_doc["IndServicio"]) not in (1, 2, 3, 4):
            errors.append(detail("IndServicio", f"{id_doc['IndServicio']} es Incorrecto"))
        if tipo == 41 and present(id_doc.get("IndMntNeto")):
            errors.append(detail("IndMntNeto", "No corresponde en una boleta exenta"))
        if "TasaIVA" in totales:
            warnings.append("TasaIVA no corresponde a una boleta: se ignora")
        if "Acteco" in emisor:
            warnings.append("Acteco no corresponde a una boleta: se ignora")
    else:
        actecos = emisor.get("Acteco")
        actecos = actecos if isinstance(actecos, list) else [actecos]
        if not actecos or any(to_int(a) is None or not 0 < to_int(a) < 1_000_000 for a in actecos):
            errors.append(detail("Acteco", f"{emisor.get('Acteco')} es Incorrecto"))
        if present(totales.get("TasaIVA")) and to_decimal(totales["TasaIVA"]) != Decimal(19):
            errors.append(detail("TasaIVA", f"Tasa erronea : {totales['TasaIVA']}"))
        if present(id_doc.get("MntBruto")) and to_int(id_doc["MntBruto"]) != 1:
            errors.append(detail("MntBruto", f"{id_doc['MntBruto']} es Incorrecto"))
        if present(id_doc.get("FmaPago")) and to_int(id_doc["FmaPago"]) not in (1, 2, 3):
            errors.append(detail("FmaPago", f"{id_doc['FmaPago']} es Incorrecto"))

    lines = dte["Detalle"]
    family = "boleta" if tipo in BOLETAS else "factura"
    if len(lines) > MAX_LINES[family]:
        errors.append(detail("Detalle", f"Máximo {MAX_LINES[family]} líneas de detalle ({len(lines)})"))
    for index, line in enumerate(lines, start=1):
        errors += _line_format_errors(line, index, tipo)

    discounts = dte.get("DscRcgGlobal") or []
    if len(discounts) > MAX_DR:
        errors.append(detail("DscRcgGlobal", f"Máximo {MAX_DR} descuentos o recargos globales"))
    for dr in discounts:
        where = {"line": dr.get("NroLinDR")}
        if dr.get("TpoMov") not in ("D", "R"):
            errors.append(detail("TpoMov", f"{dr.get('TpoMov')} es Incorrecto", **where))
        if dr.get("TpoValor") not in ("%", "$"):
            errors.append(detail("TpoValor", f"{dr.get('TpoValor')} es Incorrecto", **where))
        value = to_decimal(dr.get("ValorDR"))
        if value is None or value <= 0 or decimals_of(value) > 2:
            errors.append(detail("ValorDR", f"{dr.get('ValorDR')} es Incorrecto", **where))
        if present(dr.get("IndExeDR")) and to_int(dr["IndExeDR"]) not in (1, 2):
            errors.append(detail("IndExeDR", f"{dr['IndExeDR']} es Incorrecto", **where))

    for ref in dte.get("Referencia") or []:
        where = {"line": ref.get("NroLinRef")}
        if present(ref.get("FchRef")) and not valid_date(ref["FchRef"]):
            errors.append(detail("FchRef", "Fecha Incorrecta", **where))
        if present(ref.get("CodRef")) and to_int(ref["CodRef"]) not in (1, 2, 3):
            errors.append(detail("CodRef", f"{ref['CodRef']} es Incorrecto", **where))

    for name in (
        "MntNeto",
        "MntExe",
        "IVA",
        "MntTotal",
        "MontoNF",
        "MontoPeriodo",
        "TotalPeriodo",
        "VlrPagar",
    ):
        if name in totales and totales[name] is not None:
            value = to_int(totales[name])
            if value is None or value < 0:
                errors.append(detail(name, f"Monto erróneo : {totales[name]}"))
    if errors:
        raise Rejection("OF-10", errors)
    return warnings


def _line_format_errors(line: dict, index: int, tipo: int) -> list[dict[str, Any]]:
    errors = []
    where = {"line": line.get("NroLinDet", index)}
    if to_int(line.get("NroLinDet")) != index:
        errors.append(
            detail("NroLinDet", f"{line.get('NroLinDet')} es Incorrecto (se esperaba {index})", **where)
        )
    name = line.get("NmbItem")
    if not isinstance(name, str):
        errors.append(detail("NmbItem", "Debe ser texto", **where))
    elif len(name) > 80:
        errors.append(detail("NmbItem", "Largo máximo 80 caracteres", **where))
    if isinstance(line.get("DscItem"), str) and len(line["DscItem"]) > 1000:
        errors.append(detail("DscItem", "Largo máximo 1000 caracteres", **where))
    for key in ("QtyItem", "PrcItem"):
        if key in line:
            value = to_decimal(line[key])
            if value is None or value <= 0:
                errors.append(detail(key, f"{line[key]} es Incorrecto: debe ser mayor que 0", **where))
            elif decimals_of(value) > MAX_DECIMALS:
                errors.append(detail(key, f"{line[key]} es Incorrecto: máximo 6 decimales", **where))
    amount = to_int(line.get("MontoItem"))
    if amount is None or amount < 0:
        errors.append(detail("MontoItem", f"Monto erróneo : {line.get('MontoItem')}", **where))
    for key in ("DescuentoMonto", "RecargoMonto"):
        if key in line:
            value = to_int(line[key])
            if value is None or value < 0:
                errors.append(detail(key, f"Monto erróneo : {line[key]}", **where))
    if present(line.get("DescuentoPct")) and not present(line.get("DescuentoMonto")):
        errors.append(detail("DescuentoMonto", "Requerido cuando va DescuentoPct", **where))
    if present(line.get("RecargoPct")) and not present(line.get("RecargoMonto")):
        errors.append(detail("RecargoMonto", "Requerido cuando va RecargoPct", **where))
    if present(line.get("IndExe")) and to_int(line["IndExe"]) not in (1, 2):
        errors.append(detail("IndExe", f"{line['IndExe']} es Incorrecto", **where))
    return errors


def _line_class(line: dict, tipo: int) -> str:
    """``taxed``, ``exempt`` or ``nf`` (no facturable). On a 34/41 every billable line is exempt."""
    ind = to_int(line.get("IndExe")) if present(line.get("IndExe")) else None
    if ind == 2:
        return "nf"
    if ind == 1 or tipo in EXEMPT_TYPES:
        return "exempt"
    return "taxed"


def compute_totals(dte: dict, tipo: int) -> Totals:
    """Totales from the lines and the global discounts (dte-rules.md §2.2–§2.3; dte-semantics.md §4)."""
    id_doc = dte["Encabezado"]["IdDoc"]
    sums = {"taxed": 0, "exempt": 0, "nf": 0}
    for line in dte["Detalle"]:
        sums[_line_class(line, tipo)] += to_int(line.get("MontoItem")) or 0
    bases = dict(sums)
    for dr in dte.get("DscRcgGlobal") or []:
        ind = to_int(dr.get("IndExeDR")) if present(dr.get("IndExeDR")) else None
        target = {None: "taxed", 1: "exempt", 2: "nf"}[ind]
        value = to_decimal(dr.get("ValorDR")) or Decimal(0)
        amount = half_up(value * bases[target] / 100) if dr.get("TpoValor") == "%" else half_up(value)
        sums[target] += -amount if dr.get("TpoMov") == "D" else amount

    taxed = sums["taxed"]
    if tipo in BOLETAS:
        gross = to_int(id_doc.get("IndMntNeto")) != 2
    else:
        gross = to_int(id_doc.get("MntBruto")) == 1
    if tipo in EXEMPT_TYPES:
        neto, iva = 0, 0
    elif gross:
        # Gross lines: neto = round(T / 1.19), IVA = T − neto (never round(neto × 0.19), see V17/V18).
        neto = half_up(Decimal(taxed) / IVA_FACTOR)
        iva = taxed - neto
    else:
        neto = taxed
        iva = half_up(Decimal(taxed) * IVA_RATE)  # on the total, not per line
    total = neto + iva + sums["exempt"]
    return Totals(
        mnt_neto=neto,
        iva=iva,
        mnt_exe=sums["exempt"],
        mnt_total=total,
        monto_nf=sums["nf"],
        unassigned=taxed if tipo in EXEMPT_TYPES else 0,
    )


def _check_amounts(dte: dict, tipo: int) -> Totals:
    errors: list[dict[str, Any]] = []
    for line in dte["Detalle"]:
        qty = to_decimal(line["QtyItem"]) if "QtyItem" in line else Decimal(1)
        price = to_decimal(line.get("PrcItem"))
        if price is None:  # no unit price (free item or amount-only line): nothing to recompute
            continue
        expected = (
            half_up(qty * price)
            - (to_int(line.get("DescuentoMonto")) or 0)
            + (to_int(line.get("RecargoMonto")) or 0)
        )
        if to_int(line.get("MontoItem")) != expected:
            errors.append(
                detail(
                    "MontoItem",
                    f"Monto erróneo : {line.get('MontoItem')}",
                    line=line.get("NroLinDet"),
                    expected=expected,
                )
            )
    totals = compute_totals(dte, tipo)
    totales = dte["Encabezado"]["Totales"]

    if tipo in (33, 39) and totals.mnt_neto + totals.iva <= 0:
        exempt_type = 34 if tipo == 33 else 41
        errors.append(detail("TipoDTE", f"Documento sin montos afectos: corresponde tipo {exempt_type}"))
    if totals.mnt_neto < 0 or totals.mnt_exe < 0:
        errors.append(detail("DscRcgGlobal", "Los descuentos globales superan el monto de las líneas"))
    if totals.unassigned:
        errors.append(
            detail("IndExeDR", "Documento exento: el descuento o recargo global debe llevar IndExeDR")
        )

    if tipo in NOTAS and totals.mnt_neto > 0:
        missing = [n for n in ("MntNeto", "IVA", "TasaIVA") if not present(totales.get(n))]
        if missing:
            raise Rejection("OF-02", [detail(n, REQUIRED) for n in missing])
    if totals.mnt_exe and not present(totales.get("MntExe")):
        raise Rejection("OF-02", [detail("MntExe", REQUIRED)])

    expected_fields = {
        "MntNeto": totals.mnt_neto,
        "MntExe": totals.mnt_exe,
        "IVA": totals.iva,
        "MntTotal": totals.mnt_total,
    }
    for name, expected in expected_fields.items():
        given = totales.get(name)
        value = to_int(given) if given is not None else 0
        if value != expected:
            errors.append(detail(name, f"Monto erróneo : {given}", expected=expected))
    if "MontoNF" in totales and to_int(totales["MontoNF"]) != totals.monto_nf:
        errors.append(detail("MontoNF", f"Monto erróneo : {totales['MontoNF']}", expected=totals.monto_nf))
    periodo = totals.mnt_total + totals.monto_nf
    for name in ("MontoPeriodo", "TotalPeriodo"):
        if name in totales and to_int(totales[name]) != periodo:
            errors.append(detail(name, f"Monto erróneo : {totales[name]}", expected=periodo))
    if "VlrPagar" in totales:
        expected = periodo + (to_int(totales.get("SaldoAnterior")) or 0)
        if to_int(totales["VlrPagar"]) != expected:
            errors.append(detail("VlrPagar", f"Monto erróneo : {totales['VlrPagar']}", expected=expected))
    if errors:
        raise Rejection("OF-10", errors)
    return totals
