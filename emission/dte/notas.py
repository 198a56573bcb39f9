"""Notas de crédito (61) from the body we POSTed for the original document (dte-semantics.md §3–§4).

* **Anula** (``CodRef`` 1): the original's lines with the same taxed/exempt split. A factura (33/34) is
  copied line for line (same net lines, discounts and receptor), so its ``MntTotal`` is the original's.
  A boleta (39/41) is a gross document and the nota is a factura-family document with net lines
  (the engine's one choice, see :mod:`.amounts`): its taxed lines are converted to net exactly as a
  factura's are (``MntNeto = round(T / 1.19)`` spread by largest remainder), its exempt lines copied,
  and the total lands within 1 peso of the boleta's ``MntTotal``.
* **Anula after earlier notas** (``earlier_notas``; dte-semantics.md §4, "Boleta → factura after earlier
  notas"): it credits exactly what remains of the sale per tax class — the original's lines of each class
  with something left, its discounts, and the earlier notas as global discounts; ``Totales`` from the same
  :class:`~.remainder.SaleRemainder` as the factura that replaces the boleta, so both agree to the peso
  (:mod:`.remainder`). Nothing left → :class:`~.remainder.NothingRemains`.
* Receptor (dte-semantics.md §4, Nota de crédito): a factura's is copied. A boleta's nota carries all
  five fields, because OpenFactura's table marks ``GiroRecep``, ``DirRecep`` and ``CmnaRecep`` required
  for the whole factura family (openfactura-api.md, Addendum; the SII format leaves them optional on a
  61, but the conservative reading is the one that cannot be rejected): ``RUTRecep`` 66666666-6
  (LibreDTE's certification flow keeps the generic RUT, dte-rules.md §4) named "Consumidor final",
  ``GiroRecep`` "Particular", ``DirRecep`` the buyer's street from the order's billing address, else
  "Sin dirección", ``CmnaRecep`` the buyer's comuna, else the emisor's ``CmnaOrigen``. A boleta over
  135 UF that named its buyer keeps that buyer (RUT, razón social, address) and gets the same defaults
  for whatever it lacks.
* More than 60 lines (the factura schema's ``Detalle`` limit; a boleta may have 1000): the nota is
  summarised into one line per tax class ("Anula boleta N° 123: productos afectos" / "...exentos"),
  global discounts folded into those amounts.
* **Parcial** (``CodRef`` 3): only the refunded amounts — given lines of the original (``NroLinDet``
  and quantity; the refund is that share of the line after its class's global discounts), or an
  amount (IVA included, split between taxed and exempt in the original's proportion).
* ``Referencia``: ``NroLinRef`` 1, ``TpoDocRef`` (the annulled type, as text), ``FolioRef``, ``FchRef``
  (its date), ``CodRef``, ``RazonRef`` (≤90) ([FmtDTE] p.41–43).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from .amounts import NOTA_CREDITO, DetailLine, GlobalDiscount, TaxedItem, Totals, net_lines
from .errors import NotaInvalid
from .money import clp, half_up, iva_of_net, net_of_gross, price_for
from .parties import COMUNA_MAX, CONSUMIDOR_FINAL_RUT, DIRECCION_MAX, Receptor, emisor_from_organization
from .payload import TIPO_NAMES, BuiltDocument, assemble, detalle, dsc_rcg_global, id_doc, totales
from .remainder import EarlierNota, SaleRemainder, credited_discounts, lines_target, sale_remainder
from .store_settings import StoreDteSettings
from .text import clean_cut, normalize_cut
from .validation import MAX_LINES_FACTURA, validate_body

ANNULLABLE = frozenset({33, 34, 39, 41})
BOLETAS = frozenset({39, 41})
EXEMPT_TYPES = frozenset({34, 41})
COD_REF_ANULA = 1
COD_REF_CORRIGE_MONTOS = 3
RAZON_REF_MAX = 90  # DTE_v10.xsd Referencia/RazonRef maxLength 90
NMB_ITEM_MAX = 80
CONSUMIDOR_FINAL_NAME = "Consumidor final"
CONSUMIDOR_FINAL_GIRO = "Particular"
SIN_DIRECCION = "Sin dirección"
# DTE_v10.xsd Receptor order, restricted to what a boleta or factura of ours may carry.
_RECEPTOR_KEYS = tuple(
    "RUTRecep CdgIntRecep RznSocRecep GiroRecep Contacto CorreoRecep DirRecep CmnaRecep CiudadRecep".split()
)


@dataclass(frozen=True, slots=True)
class _OriginalLine:
    number: int
    name: str
    qty: Decimal | None
    price: Decimal | None
    discount: int
    amount: int
    exempt: bool


@dataclass(frozen=True, slots=True)
class _Original:
    tipo: int
    folio: int
    fecha: date
    lines: tuple[_OriginalLine, ...]
    discount_taxed: int  # net global discounts on taxed lines (gross pesos on a boleta)
    discount_exempt: int
    totals: Mapping[str, Any]
    receptor: Mapping[str, Any]

    @property
    def boleta(self) -> bool:
        return self.tipo in BOLETAS

    @property
    def label(self) -> str:
        return f"{TIPO_NAMES[self.tipo]} N° {self.folio}"

    def class_amounts(self, exempt: bool) -> tuple[int, int]:
        """(Σ line amounts, Σ after global discounts) of one tax class."""
        lines = sum(line.amount for line in self.lines if line.exempt == exempt)
        return lines, lines - (self.discount_exempt if exempt else self.discount_taxed)

    @property
    def mnt_total(self) -> int:
        return _integer(self.totals.get("MntTotal", 0), where="MntTotal")


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation:
        return None


def _integer(value: Any, *, where: str) -> int:
    number = _decimal(value)
    if number is None or number != number.to_integral_value():
        raise NotaInvalid(f"El documento original tiene un valor no válido en {where}: {value!r}.")
    return int(number)


def _read_original(original_body: Mapping[str, Any], *, tipo: int, folio: int, fecha: date) -> _Original:
    if tipo not in ANNULLABLE:
        raise NotaInvalid(
            f"No se emiten notas de crédito para documentos tipo {tipo} (solo 33, 34, 39 y 41)."
        )
    dte = original_body.get("dte") if isinstance(original_body, Mapping) else None
    if not isinstance(dte, Mapping) and isinstance(original_body, Mapping) and "Encabezado" in original_body:
        dte = original_body
    if not isinstance(dte, Mapping) or not isinstance(dte.get("Encabezado"), Mapping):
        raise NotaInvalid("No se encontró el documento original (cuerpo enviado a OpenFactura).")
    encabezado = dte["Encabezado"]
    stored_tipo = (encabezado.get("IdDoc") or {}).get("TipoDTE")
    if stored_tipo is not None and _integer(stored_tipo, where="TipoDTE") != tipo:
        raise NotaInvalid(f"El documento original guardado es tipo {stored_tipo}, no {tipo}.")
    lines = []
    for number, entry in enumerate(dte.get("Detalle") or [], start=1):
        if not isinstance(entry, Mapping):
            raise NotaInvalid("El documento original tiene una línea de detalle no válida.")
        lines.append(
            _OriginalLine(
                number=_integer(entry.get("NroLinDet", number), where="NroLinDet"),
                name=normalize_cut(entry.get("NmbItem"), NMB_ITEM_MAX) or f"Ítem {number}",
                qty=_decimal(entry.get("QtyItem")),
                price=_decimal(entry.get("PrcItem")),
                discount=_integer(entry.get("DescuentoMonto", 0), where="DescuentoMonto"),
                amount=_integer(entry.get("MontoItem"), where="MontoItem"),
                exempt=tipo in EXEMPT_TYPES or str(entry.get("IndExe", "")) == "1",
            )
        )
    if not lines:
        raise NotaInvalid("El documento original no tiene líneas de detalle.")
    bases = {
        False: sum(line.amount for line in lines if not line.exempt),
        True: sum(line.amount for line in lines if line.exempt),
    }
    discounts = {False: 0, True: 0}
    for entry in dte.get("DscRcgGlobal") or []:
        exempt = tipo in EXEMPT_TYPES or str(entry.get("IndExeDR", "")) == "1"
        value = _decimal(entry.get("ValorDR")) or Decimal(0)
        amount = half_up(value * bases[exempt] / 100) if entry.get("TpoValor") == "%" else half_up(value)
        discounts[exempt] += amount if entry.get("TpoMov", "D") == "D" else -amount
    return _Original(
        tipo=tipo,
        folio=folio,
        fecha=fecha,
        lines=tuple(lines),
        discount_taxed=discounts[False],
        discount_exempt=discounts[True],
        totals=encabezado.get("Totales") or {},
        receptor=encabezado.get("Receptor") or {},
    )


def _buyer_address(order: Mapping[str, Any] | None) -> tuple[str, str]:
    """(street, comuna) of the buyer from the Jumpseller order's billing address; "" when unknown.

    ``order`` is the order object or ``{"order": {...}}``; a stub without an address gives ("", "")."""
    if not isinstance(order, Mapping):
        return "", ""
    inner = order.get("order")
    buyer = Receptor.from_order({"order": inner if isinstance(inner, Mapping) else order})
    return normalize_cut(buyer.direccion, DIRECCION_MAX), normalize_cut(buyer.comuna, COMUNA_MAX)


def _receptor(original: _Original, *, order: Mapping[str, Any] | None, emisor_comuna: str) -> dict[str, Any]:
    """The nota's receptor in DTE_v10.xsd order (module docstring: a factura's is copied; a boleta's gets
    all five fields)."""
    given = original.receptor
    source = {key: given[key] for key in _RECEPTOR_KEYS if given.get(key) not in (None, "")}
    if not original.boleta:
        return source
    rut = str(source.get("RUTRecep") or CONSUMIDOR_FINAL_RUT)
    values = {**source, "RUTRecep": rut}
    if rut == CONSUMIDOR_FINAL_RUT or not str(values.get("RznSocRecep") or "").strip():
        values["RznSocRecep"] = CONSUMIDOR_FINAL_NAME
    street, comuna = _buyer_address(order)
    values.setdefault("GiroRecep", CONSUMIDOR_FINAL_GIRO)
    values.setdefault("DirRecep", street or SIN_DIRECCION)
    values.setdefault("CmnaRecep", comuna or emisor_comuna)
    if not values["CmnaRecep"]:
        raise NotaInvalid(
            "La nota de crédito necesita una comuna para el receptor: el pedido no trae la comuna del "
            "comprador y la sucursal del emisor no tiene comuna en OpenFactura."
        )
    return {key: values[key] for key in _RECEPTOR_KEYS if key in values}


@dataclass(frozen=True, slots=True)
class _NotaAmounts:
    lines: tuple[DetailLine, ...]
    discounts: tuple[GlobalDiscount, ...]
    totals: Totals


def _totals(neto: int, exe: int) -> Totals:
    if neto <= 0:
        return Totals(neto=None, exe=exe, iva=None, total=exe)
    iva = iva_of_net(neto)
    return Totals(neto=neto, exe=exe or None, iva=iva, total=neto + iva + exe)


def _net_form(
    items: Sequence[tuple[_OriginalLine, Decimal | None, int, int]],
    *,
    boleta: bool,
    discount_taxed: int,
    discount_exempt: int,
    target: int | None = None,
) -> _NotaAmounts:
    """Lines ``(original line, qty, amount, line discount)`` in the original's units → net nota lines.

    For a boleta the taxed amounts are gross and ``discount_taxed`` is gross; for a factura they are
    already net and copied. ``target``: the net a boleta's taxed lines aim at (:func:`.net_lines`).
    """
    result: list[DetailLine | None] = [None] * len(items)
    taxed_positions = [i for i, (line, *_rest) in enumerate(items) if not line.exempt]
    net_discount = discount_taxed
    if boleta and taxed_positions:
        taxed_items = [
            TaxedItem(
                name=items[i][0].name,
                qty=items[i][1] or Decimal(1),
                gross=items[i][2],
                gross_discount=items[i][3],
            )
            for i in taxed_positions
        ]
        converted, net_discount, _neto = net_lines(taxed_items, discount_gross=discount_taxed, target=target)
        for position, line in zip(taxed_positions, converted, strict=True):
            result[position] = line
    for index, (line, qty, amount, discount) in enumerate(items):
        if result[index] is not None:
            continue
        price = price_for(qty or Decimal(1), amount + discount, line.price)
        result[index] = DetailLine(
            name=line.name,
            qty=qty,
            price=price,
            discount=discount if price is not None else 0,
            amount=amount,
            exempt=line.exempt,
        )
    lines = tuple(line for line in result if line is not None)
    neto = sum(line.amount for line in lines if not line.exempt) - (net_discount if taxed_positions else 0)
    exe = sum(line.amount for line in lines if line.exempt) - discount_exempt
    discounts = []
    if taxed_positions and net_discount > 0:
        discounts.append(GlobalDiscount(value=net_discount, exempt=False))
    if discount_exempt > 0:
        discounts.append(GlobalDiscount(value=discount_exempt, exempt=True))
    return _NotaAmounts(lines=lines, discounts=tuple(discounts), totals=_totals(neto, exe))


def _summarised(amounts: _NotaAmounts, *, prefix: str) -> _NotaAmounts:
    """One line per tax class, discounts folded in (a nota has at most 60 lines)."""
    totals = amounts.totals
    lines = []
    if totals.neto:
        lines.append(
            DetailLine(
                name=normalize_cut(f"{prefix}: productos afectos", NMB_ITEM_MAX),
                qty=Decimal(1),
                price=Decimal(totals.neto),
                discount=0,
                amount=totals.neto,
                exempt=False,
            )
        )
    if totals.exe or not lines:
        exe = totals.exe or 0
        lines.append(
            DetailLine(
                name=normalize_cut(f"{prefix}: productos exentos", NMB_ITEM_MAX),
                qty=Decimal(1),
                price=Decimal(exe) if exe else None,
                discount=0,
                amount=exe,
                exempt=True,
            )
        )
    return _NotaAmounts(lines=tuple(lines), discounts=(), totals=totals)


def _build(
    original: _Original,
    amounts: _NotaAmounts,
    *,
    cod_ref: int,
    razon: str,
    settings: StoreDteSettings,
    today: date,
    expected_total: int,
    summary_prefix: str,
    warnings: list[str],
    order: Mapping[str, Any] | None,
) -> BuiltDocument:
    if len(amounts.lines) > MAX_LINES_FACTURA:
        amounts = _summarised(amounts, prefix=summary_prefix)
        warnings.append(
            f"La nota de crédito resume las líneas de la {original.label} por tipo de impuesto "
            f"(el SII admite {MAX_LINES_FACTURA} líneas por nota)."
        )
    emisor, emisor_warnings = emisor_from_organization(
        settings.organization, acteco=settings.acteco, sucursal=settings.sucursal
    )
    warnings += emisor_warnings
    referencia = {
        "NroLinRef": 1,
        "TpoDocRef": str(original.tipo),
        "FolioRef": original.folio,
        "FchRef": original.fecha.isoformat(),
        "CodRef": cod_ref,
        "RazonRef": clean_cut(razon, RAZON_REF_MAX)
        or ("Anula documento" if cod_ref == COD_REF_ANULA else "Corrige montos"),
    }
    body = assemble(
        id_doc_data=id_doc(NOTA_CREDITO, today),
        emisor=emisor.factura_dict(),
        receptor=_receptor(original, order=order, emisor_comuna=emisor.comuna),
        totales_data=totales(NOTA_CREDITO, amounts.totals),
        detalle_data=detalle(amounts.lines),
        dsc_rcg=dsc_rcg_global(amounts.discounts),
        referencia=[referencia],
    )
    validate_body(body)
    difference = amounts.totals.total - expected_total
    if difference:
        warnings.append(
            f"El total de la nota difiere en {clp(abs(difference))} del monto a anular o devolver por "
            "redondeo del IVA (la nota usa montos netos)."
        )
    return BuiltDocument(
        body=body,
        tipo=NOTA_CREDITO,
        totals=amounts.totals.as_dict(),
        difference=difference,
        warnings=warnings,
        expected_total=expected_total,
    )


def build_nota_credito_anula(
    original_body: Mapping[str, Any],
    *,
    original_tipo: int,
    original_folio: int,
    original_fecha: date,
    settings: StoreDteSettings,
    today: date,
    razon: str = "Anula documento",
    order: Mapping[str, Any] | None = None,
    earlier_notas: Sequence[EarlierNota] = (),
) -> BuiltDocument:
    """Nota de crédito ``CodRef`` 1 that annuls an emitted 33/34/39/41 (its stored POST body).

    ``order``: the Jumpseller order, when known: a boleta's nota takes the buyer's street and comuna
    from it. ``earlier_notas``: notas already issued against it; this one then credits only what remains
    (module docstring)."""
    original = _read_original(original_body, tipo=original_tipo, folio=original_folio, fecha=original_fecha)
    if earlier_notas:
        remainder = sale_remainder(original.totals, earlier_notas, label=original.label)
        amounts = _remainder_amounts(original, remainder)
        expected = remainder.expected
    else:
        items = [(line, line.qty, line.amount, line.discount) for line in original.lines]
        amounts = _net_form(
            items,
            boleta=original.boleta,
            discount_taxed=original.discount_taxed,
            discount_exempt=original.discount_exempt,
        )
        expected = original.mnt_total
    return _build(
        original,
        amounts,
        cod_ref=COD_REF_ANULA,
        razon=razon,
        settings=settings,
        today=today,
        expected_total=expected,
        summary_prefix=f"Anula {original.label}",
        warnings=[],
        order=order,
    )


def _remainder_amounts(original: _Original, remainder: SaleRemainder) -> _NotaAmounts:
    """The original's lines of each class with something left, its own discounts on them, then the
    earlier notas as discounts: ``Totales`` are the remainder's."""
    taxed, exempt = remainder.neto > 0, remainder.exempt > 0
    items = [
        (line, line.qty, line.amount, line.discount)
        for line in original.lines
        if (exempt if line.exempt else taxed)
    ]
    amounts = _net_form(
        items,
        boleta=original.boleta,
        discount_taxed=original.discount_taxed if taxed else 0,
        discount_exempt=original.discount_exempt if exempt else 0,
        target=lines_target(remainder) if taxed else None,
    )
    credited = credited_discounts(
        taxed_before=amounts.totals.neto or 0, exempt_before=amounts.totals.exe or 0, remainder=remainder
    )
    return _NotaAmounts(lines=amounts.lines, discounts=amounts.discounts + credited, totals=remainder.totals)


def _refund_lines(
    original: _Original, lines: Sequence[tuple[int, Decimal]]
) -> list[tuple[_OriginalLine, Decimal, int, int]]:
    by_number = {line.number: line for line in original.lines}
    seen: set[int] = set()
    items = []
    for number, raw_qty in lines:
        line = by_number.get(int(number))
        if line is None:
            raise NotaInvalid(f"La línea {number} no existe en la {original.label}.")
        if number in seen:
            raise NotaInvalid(f"La línea {number} de la {original.label} viene repetida.")
        seen.add(number)
        qty = _decimal(raw_qty)
        sold = line.qty if line.qty is not None else Decimal(1)
        if qty is None or qty <= 0 or qty > sold:
            raise NotaInvalid(
                f"La cantidad a devolver de la línea {number} ({raw_qty}) debe ser mayor que 0 "
                f"y a lo más {sold}."
            )
        class_lines, class_after = original.class_amounts(line.exempt)
        if class_lines <= 0:
            refund = 0
        else:
            refund = half_up(Decimal(line.amount) * qty * class_after / (sold * class_lines))
        items.append((line, qty, refund, 0))
    if not items:
        raise NotaInvalid("Indica al menos una línea a devolver.")
    return items


def _refund_amount(
    original: _Original, amount: int, remainder: SaleRemainder | None = None
) -> list[tuple[_OriginalLine, Decimal, int, int]]:
    """The amount split between taxed and exempt in the proportion of the original — or, after earlier
    notas (``remainder``), of what remains of each class."""
    if remainder is not None and not 0 < amount <= remainder.expected:
        raise NotaInvalid(
            f"El monto a devolver ({clp(amount)}) debe ser mayor que 0 y no superar lo que queda de la "
            f"{original.label} después de sus notas de crédito ({clp(remainder.expected)})."
        )
    if amount <= 0 or amount > original.mnt_total:
        raise NotaInvalid(
            f"El monto a devolver ({clp(amount)}) debe ser mayor que 0 y no superar el total de la "
            f"{original.label} ({clp(original.mnt_total)})."
        )
    totals = original.totals
    taxed = _integer(totals.get("MntNeto", 0), where="MntNeto") + _integer(totals.get("IVA", 0), where="IVA")
    exempt = _integer(totals.get("MntExe", 0), where="MntExe")
    if remainder is not None:
        taxed, exempt = remainder.taxed, remainder.exempt
    if original.tipo in EXEMPT_TYPES or taxed <= 0:
        parts = {True: amount}
    elif exempt <= 0:
        parts = {False: amount}
    else:
        on_taxed = half_up(Decimal(amount) * taxed / (taxed + exempt))
        parts = {False: on_taxed, True: amount - on_taxed}
    label = f"Devolución parcial {original.label}"
    items = []
    for exempt_part, value in parts.items():
        if value <= 0:
            continue
        name = label if len(parts) == 1 else f"{label}: productos {'exentos' if exempt_part else 'afectos'}"
        placeholder = _OriginalLine(
            number=0,
            name=normalize_cut(name, NMB_ITEM_MAX),
            qty=None,
            price=None,
            discount=0,
            amount=0,
            exempt=exempt_part,
        )
        if not original.boleta and not exempt_part:
            value = net_of_gross(value)  # a factura's amounts are net: keep the refund's net part
        items.append((placeholder, Decimal(1), value, 0))
    return items


def _check_within(totals: Totals, remainder: SaleRemainder, original: _Original) -> None:
    """A partial refund after earlier notas credits at most what remains of each tax class."""
    taxed = (totals.neto or 0) + (totals.iva or 0)
    if taxed > remainder.taxed or (totals.exe or 0) > remainder.exempt:
        raise NotaInvalid(
            f"La devolución ({clp(totals.total)}) supera lo que queda de la {original.label} después de sus "
            f"notas de crédito ({clp(remainder.taxed)} afecto, {clp(remainder.exempt)} exento). Para "
            "devolver todo lo que queda, emite la nota de crédito total."
        )


def build_nota_credito_parcial(
    original_body: Mapping[str, Any],
    *,
    original_tipo: int,
    original_folio: int,
    original_fecha: date,
    settings: StoreDteSettings,
    today: date,
    lines: list[tuple[int, Decimal]] | None = None,
    amount: int | None = None,
    razon: str,
    order: Mapping[str, Any] | None = None,
    earlier_notas: Sequence[EarlierNota] = (),
) -> BuiltDocument:
    """Nota de crédito ``CodRef`` 3 for a partial refund: ``lines`` = ``(NroLinDet of the original,
    quantity refunded)``, or ``amount`` = pesos refunded (IVA included). ``order`` as for
    :func:`build_nota_credito_anula`. ``earlier_notas``: notas already issued against the original; the
    refund then never exceeds what remains of either tax class, and an amount is split in the proportion
    of what remains (dte-semantics.md §4: "No document ever exceeds what remains of the sale")."""
    if (lines is None) == (amount is None):
        raise NotaInvalid("Indica las líneas devueltas o el monto a devolver (uno de los dos).")
    original = _read_original(original_body, tipo=original_tipo, folio=original_folio, fecha=original_fecha)
    remainder = (
        sale_remainder(original.totals, earlier_notas, label=original.label) if earlier_notas else None
    )
    items = (
        _refund_lines(original, lines)
        if lines is not None
        else _refund_amount(original, int(amount or 0), remainder)
    )
    amounts = _net_form(items, boleta=original.boleta, discount_taxed=0, discount_exempt=0)
    if lines is not None:
        gross_refund = sum(value for _line, _qty, value, _d in items)
        expected = gross_refund if original.boleta else amounts.totals.total
    else:
        expected = int(amount or 0)
    if amounts.totals.total <= 0:
        raise NotaInvalid(f"Las líneas indicadas no tienen monto que devolver en la {original.label}.")
    if amounts.totals.total > original.mnt_total + 1:
        raise NotaInvalid(
            f"La devolución ({clp(amounts.totals.total)}) supera el total de la {original.label} "
            f"({clp(original.mnt_total)})."
        )
    if remainder is not None:
        _check_within(amounts.totals, remainder, original)
    return _build(
        original,
        amounts,
        cod_ref=COD_REF_CORRIGE_MONTOS,
        razon=razon,
        settings=settings,
        today=today,
        expected_total=expected,
        summary_prefix=f"Devolución parcial {original.label}",
        warnings=[],
        order=order,
    )
