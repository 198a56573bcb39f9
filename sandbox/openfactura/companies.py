"""Who is behind an API key (``GET /v2/dte/organization``) and the taxpayer registry (``/taxpayer``).

openfactura-api.md §1 (demo keys), §5.1 (organization body), §5.3 (taxpayer body).

* ``928e15a2d14d4a6292345f04960f4bd3`` → HAULMER CHILE SPA, 76795561-8 (body of §5.1 as served today:
  ``sucursales: []``, actividades 641990 principal and 479100);
* ``41eb78998d444dbaa4922c410ef14057`` → HOSTY SPA, 76430498-5 (two sucursales, actividades 620200
  principal and 631100);
* any key ``sandbox-<anything>`` → COMERCIAL SANDBOX SPA, 77123456-9 (two sucursales). Each such key
  is its own account: its own rate-limit budget, Idempotency-Keys and issued list.

Choice (§9 #10, ``codigoActividadEconomica`` int or string): HAULMER and the sandbox company serve the
current string form (``"641990"``), HOSTY the 2020-era integer form (``620200``), so that a client is
exercised on both.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .validation import parse_rut

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DEMO_KEY_HAULMER = "928e15a2d14d4a6292345f04960f4bd3"
DEMO_KEY_HOSTY = "41eb78998d444dbaa4922c410ef14057"
SANDBOX_KEY_PREFIX = "sandbox-"
_WELL_FORMED_KEY = re.compile(r"^[0-9a-f]{32}$")

HAULMER = {
    "rut": "76795561-8",
    "razonSocial": "HAULMER CHILE SPA",
    "email": "haulmer1@haulmer.com",
    "telefono": None,
    "direccion": "A PRAT 545 DP 2",
    "cdgSIISucur": "81303347",
    "glosaDescriptiva": "PRODUCTOS Y SERVICIOS RELACIONADOS CON INTERNET, SOFTWARE, DISPOSITIVO",
    "direccionRegional": "CURICÓ",
    "comuna": "Curicó",
    "ciudad": "",
    "resolucion": {"fecha": "2022-09-07", "numero": "0"},
    "nombreFantasia": "Halumer Pruebas",
    "web": "www.openfactura.cl",
    "sucursales": [],
    "actividades": [
        {
            "giro": "PRODUCTOS Y SERVICIOS RELACIONADOS CON INTERNET, SOFTWARE, DISPOSITIVO",
            "actividadEconomica": "OTROS TIPOS DE INTERMEDIACION MONETARIA N.C.P.",
            "codigoActividadEconomica": "641990",
            "actividadPrincipal": True,
        },
        {
            "giro": "VENTA AL POR MENOR EN EMPRESAS DE VENTA A DISTANCIA VÍA INTERNET; COMERCIO ELEC",
            "actividadEconomica": "VENTA AL POR MENOR POR CORREO, POR INTERNET Y VIA TELEFONICA",
            "codigoActividadEconomica": "479100",
            "actividadPrincipal": False,
        },
    ],
}

HOSTY = {
    "rut": "76430498-5",
    "razonSocial": "HOSTY SPA",
    "email": "facturacion@hosty.cl",
    "telefono": None,
    "direccion": "ARTURO PRAT 527 3 pis OF 1",
    "cdgSIISucur": "79457965",
    "glosaDescriptiva": "EMPRESAS DE SERVICIOS INTEGRALES DE INFORMÁTICA",
    "direccionRegional": "CURICÓ",
    "comuna": "Curicó",
    "ciudad": "Curicó",
    "resolucion": {"fecha": "2019-05-14", "numero": "0"},
    "nombreFantasia": "Hosty",
    "web": "www.hosty.cl",
    "sucursales": [
        {
            "cdgSIISucur": "79457965",
            "comuna": "Curicó",
            "direccion": "ARTURO PRAT 527 3 pis OF 1",
            "ciudad": "Curicó",
            "telefono": None,
        },
        {
            "cdgSIISucur": "79457966",
            "comuna": "Santiago",
            "direccion": "AV LIBERTADOR BERNARDO O'HIGGINS 1302 OF 41",
            "ciudad": "Santiago",
            "telefono": None,
        },
    ],
    "actividades": [
        {
            "giro": "EMPRESAS DE SERVICIOS INTEGRALES DE INFORMÁTICA",
            "actividadEconomica": "ACTIVIDADES DE CONSULTORIA DE INFORMATICA Y DE GESTION DE INSTALACIONES",
            "codigoActividadEconomica": 620200,
            "actividadPrincipal": True,
        },
        {
            "giro": "HOSPEDAJE DE SITIOS WEB Y SERVIDORES",
            "actividadEconomica": "PROCESAMIENTO DE DATOS, HOSPEDAJE Y ACTIVIDADES CONEXAS",
            "codigoActividadEconomica": 631100,
            "actividadPrincipal": False,
        },
    ],
}

SANDBOX_COMPANY = {
    "rut": "77123456-9",
    "razonSocial": "COMERCIAL SANDBOX SPA",
    "email": "sandbox@comercialsandbox.cl",
    "telefono": "+56 2 2345 6789",
    "direccion": "AV PROVIDENCIA 1208 OF 1603",
    "cdgSIISucur": "88000001",
    "glosaDescriptiva": "VENTA AL POR MENOR POR INTERNET",
    "direccionRegional": "SANTIAGO ORIENTE",
    "comuna": "Providencia",
    "ciudad": "Santiago",
    "resolucion": {"fecha": "2024-01-15", "numero": "0"},
    "nombreFantasia": "Tienda Sandbox",
    "web": "www.comercialsandbox.cl",
    "sucursales": [
        {
            "cdgSIISucur": "88000001",
            "comuna": "Providencia",
            "direccion": "AV PROVIDENCIA 1208 OF 1603",
            "ciudad": "Santiago",
            "telefono": None,
        },
        {
            "cdgSIISucur": "88000002",
            "comuna": "Viña del Mar",
            "direccion": "AV VALPARAISO 555 LOCAL 3",
            "ciudad": "Viña del Mar",
            "telefono": None,
        },
    ],
    "actividades": [
        {
            "giro": "VENTA AL POR MENOR POR INTERNET",
            "actividadEconomica": "VENTA AL POR MENOR POR CORREO, POR INTERNET Y VIA TELEFONICA",
            "codigoActividadEconomica": "479100",
            "actividadPrincipal": True,
        },
        {
            "giro": "DESARROLLO DE SOFTWARE",
            "actividadEconomica": "ACTIVIDADES DE PROGRAMACION INFORMATICA",
            "codigoActividadEconomica": "620100",
            "actividadPrincipal": False,
        },
    ],
}

DEMO_ORGANIZATIONS = {DEMO_KEY_HAULMER: HAULMER, DEMO_KEY_HOSTY: HOSTY}


@dataclass(frozen=True)
class Account:
    """The caller: a hash of its API key (never the key itself) and its organization."""

    key_hash: str
    organization: dict[str, Any]

    @property
    def rut(self) -> str:
        return self.organization["rut"]


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def well_formed(api_key: str) -> bool:
    return bool(_WELL_FORMED_KEY.match(api_key)) or (
        api_key.startswith(SANDBOX_KEY_PREFIX)
        and len(api_key) > len(SANDBOX_KEY_PREFIX)
        and len(api_key) <= 200
    )


def account_for(api_key: str) -> Account | None:
    """The account of a known key, else ``None``."""
    if api_key in DEMO_ORGANIZATIONS:
        return Account(key_hash=key_hash(api_key), organization=DEMO_ORGANIZATIONS[api_key])
    if api_key.startswith(SANDBOX_KEY_PREFIX) and well_formed(api_key):
        return Account(key_hash=key_hash(api_key), organization=SANDBOX_COMPANY)
    return None


def organization_body(account: Account, *, logo: str | None = None) -> dict[str, Any]:
    body = copy.deepcopy(account.organization)
    if logo is not None:
        body["logo"] = logo
    return body


@lru_cache(maxsize=1)
def _taxpayers() -> dict[str, dict[str, Any]]:
    rows = json.loads((FIXTURES / "taxpayers.json").read_text(encoding="utf-8"))
    return {row["rut"]: row for row in rows}


UNKNOWN_TAXPAYER = {
    "rut": None,
    "razonSocial": None,
    "email": None,
    "telefono": None,
    "direccion": None,
    "comuna": None,
    "actividades": [],
    "sucursales": [],
}


def taxpayer(rut: str) -> dict[str, Any] | None:
    """The §5.3 body of ``rut`` (any spelling); the all-null body when unknown; ``None`` when invalid."""
    canonical = parse_rut(rut)
    if canonical is None:
        return None
    return copy.deepcopy(_taxpayers().get(canonical, UNKNOWN_TAXPAYER))


def taxpayers() -> list[dict[str, Any]]:
    return [copy.deepcopy(row) for row in _taxpayers().values()]
