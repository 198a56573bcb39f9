"""The fake OpenFactura's PDF reads the Chilean way (issue 15 point 10): `03-12-2026`, `$12.990`."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.openfactura import pdf

from .test_emission import pdf_text

NOTA = {
    "Encabezado": {
        "IdDoc": {"TipoDTE": 61, "Folio": 7, "FchEmis": "2026-12-03"},
        "Emisor": {"RUTEmisor": "76795561-8", "RznSoc": "HAULMER CHILE SPA", "GiroEmis": "Servicios"},
        "Receptor": {"RUTRecep": "66666666-6", "RznSocRecep": "Café Ñuñoa"},
        "Totales": {"MntNeto": 10916, "IVA": 2074, "MntTotal": 12990},
    },
    "Detalle": [
        {
            "NroLinDet": 1,
            "NmbItem": "Café en grano",
            "QtyItem": 1,
            "PrcItem": 13990,
            "DescuentoMonto": 1000,
            "MontoItem": 12990,
        },
    ],
    "DscRcgGlobal": [{"NroLinDR": 1, "TpoMov": "D", "TpoValor": "$", "ValorDR": 1500, "GlosaDR": "Cupón"}],
    "Referencia": [{"NroLinRef": 1, "TpoDocRef": 39, "FolioRef": 1000, "FchRef": "2026-11-28", "CodRef": 1}],
}


def _text(**kwargs) -> str:
    received = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    data = pdf.render(NOTA, tipo=61, folio=7, received_at=received, seed="s", **kwargs)
    return pdf_text(data).decode("windows-1252")


def test_dates_and_amounts_are_printed_the_chilean_way():
    for text in (_text(), _text(narrow=True)):
        assert "(03-12-2026)" in text  # Fecha de emisión
        assert "del 28-11-2026" in text  # the corrected document's date
        for amount in ("$13.990", "$1.000", "$12.990", "$10.916", "$2.074", "$1.500"):
            assert f"({amount})" in text or f"({amount} " in text, amount
        assert "2026-12-03" not in text and "2026-11-28" not in text
        assert "$ " not in text
