"""``python manage.py dte_preview``, run for real in a subprocess as the acceptance checks call it.

The database URL points at a port where nothing listens: the command must not need a database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["DATABASE_URL"] = "postgres://nobody@127.0.0.1:9/none"
    env["PYTHONIOENCODING"] = "ascii"  # the command writes UTF-8 whatever the locale says
    return subprocess.run(
        [sys.executable, "manage.py", "dte_preview", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def order(name: str) -> str:
    return str(FIXTURES / "jumpseller" / f"order_paid__{name}.json")


def today() -> str:
    return datetime.now(ZoneInfo("America/Santiago")).date().isoformat()


def test_boleta_by_default():
    result = run(order("mixta_despacho_exento"))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.count("\n") == 1
    body = json.loads(result.stdout)
    assert list(body) == ["response", "dte", "custom"]
    assert body["dte"]["Encabezado"]["IdDoc"] == {
        "TipoDTE": 39,
        "Folio": 0,
        "FchEmis": today(),
        "IndServicio": 3,
    }
    assert body["dte"]["Encabezado"]["Receptor"] == {"RUTRecep": "66666666-6"}
    assert body["dte"]["Encabezado"]["Totales"] == {
        "MntNeto": 20151,
        "MntExe": 3990,
        "IVA": 3829,
        "MntTotal": 27970,
    }
    assert body["custom"] == {"origin": "JUMPSELLER"}
    assert '"CmnaOrigen": "Curicó"' in result.stdout  # ensure_ascii=False


def test_factura_with_the_receptor_from_the_order():
    result = run(order("empresa"), "--document", "factura")
    assert result.returncode == 0, result.stderr
    encabezado = json.loads(result.stdout)["dte"]["Encabezado"]
    assert encabezado["IdDoc"]["TipoDTE"] == 33
    assert encabezado["Receptor"]["RUTRecep"] == "76430498-5"
    assert list(encabezado["Emisor"]) == [
        "RUTEmisor",
        "RznSoc",
        "GiroEmis",
        "Acteco",
        "CdgSIISucur",
        "DirOrigen",
        "CmnaOrigen",
    ]


def test_factura_with_receptor_and_store_settings_files(tmp_path: Path):
    receptor = tmp_path / "receptor.json"
    receptor.write_text(
        json.dumps(
            {
                "rut": "77.123.456-9",
                "razon_social": "Comercial Sandbox SpA",
                "giro": "Venta al por menor por internet",
                "direccion": "Av. Providencia 1208",
                "comuna": "Providencia",
                "email": "compras@sandbox.cl",
            }
        ),
        encoding="utf-8",
    )
    settings = tmp_path / "settings.json"
    settings.write_text(
        json.dumps(
            {
                "organization": json.loads(
                    (FIXTURES / "openfactura" / "organization__hosty.json").read_text(encoding="utf-8")
                ),
                "acteco": "631100",
                "sucursal": "79457966",
                "untaxed_items": "taxed",
            }
        ),
        encoding="utf-8",
    )
    result = run(
        order("descuento_global"),
        "--document",
        "factura",
        "--receptor",
        str(receptor),
        "--store-settings",
        str(settings),
    )
    assert result.returncode == 0, result.stderr
    dte = json.loads(result.stdout)["dte"]
    assert dte["Encabezado"]["Emisor"] == {
        "RUTEmisor": "76430498-5",
        "RznSoc": "HOSTY SPA",
        "GiroEmis": "EMPRESAS DE SERVICIOS INTEGRALES DE INFORMÁTICA",
        "Acteco": 631100,
        "CdgSIISucur": "79457966",
        "DirOrigen": "AV LIBERTADOR BERNARDO O'HIGGINS 1302 OF 41",
        "CmnaOrigen": "Santiago",
    }
    assert dte["Encabezado"]["Receptor"]["RUTRecep"] == "77123456-9"
    # untaxed_items "taxed": the book counts as taxed, so the coupon no longer empties the taxed total.
    assert dte["Encabezado"]["Totales"] == {"MntNeto": 9235, "TasaIVA": 19, "IVA": 1755, "MntTotal": 10990}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [order("usd")],
            "El pedido está en USD y los documentos tributarios se emiten solo en pesos chilenos (CLP): "
            "emite este documento manualmente en OpenFactura.",
        ),
        (
            [order("boleta_afecta"), "--document", "factura"],
            "Faltan el RUT, la razón social y el giro del receptor (en el pedido: billing_address.taxid, "
            "billing_information.company_name, billing_information.business_activity). La factura necesita "
            "RUT, razón social, giro, dirección y comuna del comprador: complétalos y vuelve a emitir.",
        ),
        (
            ["/nonexistent/order.json"],
            "No se pudo leer el pedido (/nonexistent/order.json): No such file or directory.",
        ),
    ],
    ids=["currency", "receptor", "unreadable"],
)
def test_refusal_exits_2_with_the_message_on_stderr(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == message


def test_unsupported_tax_refusal():
    result = run(order("impuesto_fijo"))
    assert (result.returncode, result.stdout) == (2, "")
    assert "impuesto no soportado" in result.stderr
    assert "«Impuesto adicional alcoholes»" in result.stderr


def test_boleta_with_a_receptor_file_and_byte_order_marks(tmp_path: Path):
    # dte-semantics.md §5: a boleta under 135 UF goes to 66666666-6 whatever --receptor says; files
    # saved by Windows editors start with a UTF-8 byte order mark and are read all the same.
    order_file = tmp_path / "order.json"
    order_file.write_bytes(b"\xef\xbb\xbf" + Path(order("boleta_afecta")).read_bytes())
    receptor = tmp_path / "receptor.json"
    receptor.write_text(
        "\ufeff" + json.dumps({"rut": "76430498-5", "razon_social": "HOSTY SPA"}), encoding="utf-8"
    )
    result = run(str(order_file), "--document", "boleta", "--receptor", str(receptor))
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout)["dte"]["Encabezado"]["Receptor"] == {"RUTRecep": "66666666-6"}
