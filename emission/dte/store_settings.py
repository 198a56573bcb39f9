"""What the engine needs to know about a store: its OpenFactura organization and its DTE choices.

``DEMO_ORGANIZATION`` is the body of ``GET /v2/dte/organization`` for OpenFactura's public demo key
(HAULMER CHILE SPA, RUT 76795561-8) exactly as openfactura-api.md §5.1 shows it: principal activity
641990, head office 81303347 (no ``sucursales``).

``uf_clp``: boletas over 135 UF must name the real buyer (Ley 21.713; dte-rules.md §3). The UF changes
daily; 40 000 CLP is an approximation of its late-2026 value (it was ~39 500 in 2025). It must be
kept current by the store setting (the emission pipeline passes the day's value when it has one);
a stale value only moves the threshold by the UF's drift.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .classify import UntaxedItems
from .errors import OrderInvalid, SettingsInvalid
from .order import to_decimal

UNTAXED_ITEMS_CHOICES: tuple[str, ...] = ("exempt", "taxed")
DEFAULT_UF_CLP = Decimal("40000")
BOLETA_UF_LIMIT = 135  # Ley 21.713; [FmtBOL] v4.1 p.8–10

DEMO_ORGANIZATION: dict[str, Any] = {
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
        }
    ],
}


@dataclass(frozen=True)
class StoreDteSettings:
    """A store's DTE settings.

    * ``organization``: body of ``GET /v2/dte/organization`` (openfactura-api.md §5.1);
    * ``acteco``: chosen activity code (``None`` = the principal activity);
    * ``sucursal``: chosen ``cdgSIISucur`` (``None`` = head office);
    * ``untaxed_items``: products (and shipping) without taxes are ``"exempt"`` (default, Jumpseller's
      reading, dte-semantics.md §2) or ``"taxed"`` with IVA included;
    * ``uf_clp``: value of the UF in pesos for the 135 UF boleta rule.
    """

    organization: Mapping[str, Any]
    acteco: str | None = None
    sucursal: str | None = None
    untaxed_items: UntaxedItems = "exempt"
    uf_clp: Decimal = field(default=DEFAULT_UF_CLP)

    def __post_init__(self) -> None:
        if self.untaxed_items not in UNTAXED_ITEMS_CHOICES:
            raise SettingsInvalid(
                f"Valor desconocido para «productos sin impuesto»: {self.untaxed_items!r} "
                "(use «exempt» o «taxed»).",
                field="untaxed_items",
            )
        if not isinstance(self.organization, Mapping):
            raise SettingsInvalid(
                "Los datos de la empresa en OpenFactura no son un objeto.", field="organization"
            )
        if not isinstance(self.uf_clp, Decimal) or self.uf_clp <= 0:
            raise SettingsInvalid("El valor de la UF debe ser un número positivo.", field="uf_clp")

    @property
    def boleta_limit_clp(self) -> Decimal:
        return BOLETA_UF_LIMIT * self.uf_clp

    @classmethod
    def demo(cls) -> StoreDteSettings:
        """OpenFactura's demo organization, principal activity, head office, untaxed items exempt."""
        return cls(organization=copy.deepcopy(DEMO_ORGANIZATION))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoreDteSettings:
        """``{"organization", "acteco", "sucursal", "untaxed_items", "uf_clp"}``; missing keys take the
        defaults of :meth:`demo` (the ``--store-settings`` file of ``dte_preview``)."""
        if not isinstance(data, Mapping):
            raise SettingsInvalid("La configuración de la tienda no es un objeto JSON.")
        organization = data.get("organization")
        if organization is None:
            organization = copy.deepcopy(DEMO_ORGANIZATION)
        try:
            uf = to_decimal(data.get("uf_clp"), field="uf_clp", default=None)
        except OrderInvalid:
            raise SettingsInvalid("El valor de la UF no es un número.", field="uf_clp") from None
        return cls(
            organization=organization,
            acteco=_optional_code(data.get("acteco")),
            sucursal=_optional_code(data.get("sucursal")),
            untaxed_items=data.get("untaxed_items") or "exempt",
            uf_clp=uf if uf is not None else DEFAULT_UF_CLP,
        )


def _optional_code(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
