"""The fake OpenFactura's printed document: a small real PDF (fpdf2), and small real PNGs.

The PDF shows what a person needs to recognise the document: type and folio in the SII box, emisor,
receptor, lines, references, totals, a drawn "timbre" and the mark "DOCUMENTO DE PRUEBA — SANDBOX".
It is deterministic (creation date = reception time), so the same document always gives the same bytes.
fpdf2's core fonts speak windows-1252: Spanish accents, ñ, °, € and dashes print; anything else
becomes "?".
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from datetime import date, datetime
from io import BytesIO
from typing import Any

from fpdf import FPDF

from core.formatting import format_clp

from .validation import BOLETAS, TIPO_NAMES, to_decimal

SANDBOX_MARK = "DOCUMENTO DE PRUEBA — SANDBOX"
_ENCODING = "windows-1252"


# --- PNG ---------------------------------------------------------------------------------------
def png(width: int, height: int, pixel) -> bytes:
    """An 8-bit grayscale PNG; ``pixel(x, y)`` gives 0..255."""
    raw = b"".join(b"\x00" + bytes(pixel(x, y) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def timbre_png(seed: str) -> bytes:
    """A PDF417-looking pattern derived from ``seed``: not a real stamp (the sandbox has no CAF)."""
    bits = "".join(f"{byte:08b}" for byte in hashlib.sha512(seed.encode()).digest())
    width, height, module = 180, 60, 3
    columns, rows = width // module, height // module

    def pixel(x: int, y: int) -> int:
        column, row = x // module, y // module
        if column < 3 or column >= columns - 3:  # start and stop patterns
            return 0 if column % 2 == 0 else 255
        return 0 if bits[(row * columns + column) % len(bits)] == "1" else 255

    del rows
    return png(width, height, pixel)


def logo_png() -> bytes:
    """A tiny grey square: the sandbox's company logo."""
    return png(16, 16, lambda x, y: 60 if 3 <= x <= 12 and 3 <= y <= 12 else 220)


# --- PDF ---------------------------------------------------------------------------------------
def _clean(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.encode(_ENCODING, "replace").decode(_ENCODING)


def _money(value: Any) -> str:
    """Pesos as people in Chile read them: ``$12.990`` (``core.formatting.format_clp``)."""
    number = to_decimal(value)
    if number is None:
        return ""
    return format_clp(number)


def _date(value: Any) -> str:
    """An SII date (``2026-12-03``) as people in Chile read it: ``03-12-2026``; anything else unchanged."""
    text = "" if value is None else str(value)
    try:
        return date.fromisoformat(text).strftime("%d-%m-%Y")
    except ValueError:
        return text


def _quantity(value: Any) -> str:
    number = to_decimal(value)
    if number is None:
        return ""
    text = format(number.normalize(), "f")
    return text.replace(".", ",")


def _format_rut(rut: Any) -> str:
    text = str(rut or "")
    if "-" not in text:
        return text
    digits, dv = text.split("-", 1)
    try:
        return f"{int(digits):,}".replace(",", ".") + f"-{dv}"
    except ValueError:
        return text


def render(
    dte: dict,
    *,
    tipo: int,
    folio: int | None,
    received_at: datetime,
    seed: str,
    narrow: bool = False,
    custom: dict | None = None,
    cedible: bool = False,
) -> bytes:
    """The PDF of a document (LETTER, or 80 mm wide when ``narrow``)."""
    enc = dte.get("Encabezado") or {}
    id_doc, emisor = enc.get("IdDoc") or {}, enc.get("Emisor") or {}
    receptor, totales = enc.get("Receptor") or {}, enc.get("Totales") or {}
    page_width = 80 if narrow else 215.9
    pdf = FPDF(unit="mm", format=(page_width, 279.4))
    pdf.core_fonts_encoding = _ENCODING
    pdf.set_creation_date(received_at)
    pdf.set_title(_clean(f"{TIPO_NAMES.get(tipo, tipo)} N° {folio}"))
    pdf.set_creator("Sandbox OpenFactura")
    margin = 5 if narrow else 12
    pdf.set_margins(margin, margin, margin)
    pdf.set_auto_page_break(True, margin=margin)
    pdf.add_page()
    usable = page_width - 2 * margin
    write = _Writer(pdf, usable)

    # SII box: RUT, type, folio.
    box_width = usable if narrow else 75
    box_x = margin if narrow else page_width - margin - box_width
    top = pdf.get_y()
    pdf.set_draw_color(200, 0, 0)
    pdf.set_text_color(200, 0, 0)
    pdf.set_line_width(0.6)
    pdf.set_xy(box_x, top + 2)
    pdf.set_font("helvetica", "B", 11)
    pdf.cell(
        box_width,
        6,
        _clean(f"R.U.T.: {_format_rut(emisor.get('RUTEmisor'))}"),
        align="C",
        new_x="LEFT",
        new_y="NEXT",
    )
    pdf.multi_cell(
        box_width, 6, _clean(TIPO_NAMES.get(tipo, f"DTE {tipo}")), align="C", new_x="LEFT", new_y="NEXT"
    )
    pdf.cell(
        box_width,
        6,
        _clean(f"N° {folio if folio is not None else '(sin folio)'}"),
        align="C",
        new_x="LEFT",
        new_y="NEXT",
    )
    pdf.set_font("helvetica", "", 8)
    pdf.cell(box_width, 5, "S.I.I. - SANDBOX", align="C", new_x="LEFT", new_y="NEXT")
    box_bottom = pdf.get_y() + 1
    pdf.rect(box_x, top, box_width, box_bottom - top)
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)

    # Emisor, beside the box (or below it on 80 mm).
    if narrow:
        pdf.set_xy(margin, box_bottom + 2)
    else:
        pdf.set_xy(margin, top)
    emisor_width = usable if narrow else usable - box_width - 5
    pdf.set_font("helvetica", "B", 11)
    pdf.multi_cell(
        emisor_width,
        5,
        _clean(emisor.get("RznSocEmisor") or emisor.get("RznSoc")),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("helvetica", "", 8)
    for text in (
        emisor.get("GiroEmisor") or emisor.get("GiroEmis"),
        " ".join(str(p) for p in (emisor.get("DirOrigen"), emisor.get("CmnaOrigen")) if p),
        f"Sucursal SII: {emisor['CdgSIISucur']}" if emisor.get("CdgSIISucur") else None,
    ):
        if text:
            pdf.multi_cell(emisor_width, 4, _clean(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), box_bottom) + 3)

    pdf.set_font("helvetica", "B", 12)
    pdf.set_text_color(180, 0, 0)
    pdf.cell(usable, 7, _clean(SANDBOX_MARK), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    if cedible:
        pdf.set_font("helvetica", "B", 10)
        pdf.cell(usable, 6, "CEDIBLE", align="R", new_x="LMARGIN", new_y="NEXT")

    # Receptor.
    pdf.set_font("helvetica", "", 9)
    write.pair("Fecha de emisión", _date(id_doc.get("FchEmis")))
    write.pair("Señor(es)", receptor.get("RznSocRecep") or ("Consumidor final" if tipo in BOLETAS else ""))
    write.pair("R.U.T.", _format_rut(receptor.get("RUTRecep")))
    write.pair("Giro", receptor.get("GiroRecep"))
    write.pair(
        "Dirección", " ".join(str(p) for p in (receptor.get("DirRecep"), receptor.get("CmnaRecep")) if p)
    )
    pdf.ln(2)

    # Lines.
    widths = [
        usable * f for f in ((0.12, 0.43, 0.15, 0.12, 0.18) if not narrow else (0.12, 0.40, 0.16, 0.12, 0.20))
    ]
    headers = ("Cant.", "Detalle", "Precio", "Desc.", "Monto")
    pdf.set_font("helvetica", "B", 8)
    pdf.set_fill_color(230, 230, 230)
    for width, header in zip(widths, headers, strict=True):
        pdf.cell(width, 6, header, border=1, fill=True, align="C")
    pdf.ln()
    pdf.set_font("helvetica", "", 8)
    for line in dte.get("Detalle") or []:
        name = str(line.get("NmbItem") or "")
        if str(line.get("IndExe") or "") == "1":
            name += " (exento)"
        row = (
            _quantity(line.get("QtyItem")),
            name,
            _money(line.get("PrcItem")),
            _money(line.get("DescuentoMonto")),
            _money(line.get("MontoItem")),
        )
        for index, (width, text) in enumerate(zip(widths, row, strict=True)):
            pdf.cell(
                width,
                5,
                _clean(text)[: 60 if index == 1 else 20],
                border="LR",
                align="L" if index == 1 else "R",
            )
        pdf.ln()
    pdf.cell(usable, 0, "", border="T", new_x="LMARGIN", new_y="NEXT")

    for dr in dte.get("DscRcgGlobal") or []:
        kind = "Descuento" if dr.get("TpoMov") == "D" else "Recargo"
        value = f"{dr.get('ValorDR')} %" if dr.get("TpoValor") == "%" else _money(dr.get("ValorDR"))
        write.pair(f"{kind} global", f"{value} {dr.get('GlosaDR') or ''}".strip())

    references = dte.get("Referencia") or []
    if references:
        pdf.ln(2)
        pdf.set_font("helvetica", "B", 8)
        pdf.cell(usable, 5, "Referencias", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 8)
        for ref in references:
            text = (
                f"Tipo {ref.get('TpoDocRef')} N° {ref.get('FolioRef')} del {_date(ref.get('FchRef'))}"
                f" (CodRef {ref.get('CodRef', '-')}) {ref.get('RazonRef') or ''}"
            )
            pdf.multi_cell(usable, 4, _clean(text), new_x="LMARGIN", new_y="NEXT")

    # Totals.
    pdf.ln(3)
    pdf.set_font("helvetica", "", 9)
    labels = [
        ("MntNeto", "Monto neto"),
        ("MntExe", "Monto exento"),
        ("IVA", "IVA 19 %"),
        ("MntTotal", "TOTAL"),
    ]
    for key, label in labels:
        if key in totales:
            if key == "MntTotal":
                pdf.set_font("helvetica", "B", 10)
            write.total(label, _money(totales[key]))

    for note_key, label in (("informationNote", "Nota"), ("paymentNote", "Pago")):
        note = (custom or {}).get(note_key)
        if note:
            pdf.set_font("helvetica", "", 8)
            pdf.multi_cell(usable, 4, _clean(f"{label}: {note}"), new_x="LMARGIN", new_y="NEXT")

    # Timbre.
    pdf.ln(4)
    stamp_width = min(60, usable)
    x = margin + (usable - stamp_width) / 2
    pdf.image(BytesIO(timbre_png(seed)), x=x, w=stamp_width)
    pdf.set_font("helvetica", "", 7)
    pdf.cell(
        usable, 4, "Timbre Electrónico SII (simulado, sin CAF)", align="C", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.cell(
        usable,
        4,
        "Verifique documento: sandbox, sin validez tributaria",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())


class _Writer:
    def __init__(self, pdf: FPDF, usable: float) -> None:
        self.pdf = pdf
        self.usable = usable

    def pair(self, label: str, value: Any) -> None:
        if value in (None, ""):
            return
        label_width = min(32, self.usable * 0.35)
        self.pdf.set_font("helvetica", "B", 8)
        self.pdf.cell(label_width, 4.5, _clean(f"{label}:"))
        self.pdf.set_font("helvetica", "", 8)
        self.pdf.multi_cell(self.usable - label_width, 4.5, _clean(value), new_x="LMARGIN", new_y="NEXT")

    def total(self, label: str, value: str) -> None:
        value_width = min(35, self.usable * 0.45)
        self.pdf.cell(self.usable - value_width, 5, _clean(label), align="R")
        self.pdf.cell(value_width, 5, _clean(value), align="R", new_x="LMARGIN", new_y="NEXT")
