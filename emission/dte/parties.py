"""Emisor and Receptor (dte-semantics.md §5).

Emisor, from OpenFactura's ``GET /v2/dte/organization`` (openfactura-api.md §5.1) plus the merchant's
chosen activity and branch:

* ``RUTEmisor`` ← ``rut``; razón social ← ``razonSocial`` (≤100); giro ← ``glosaDescriptiva`` (≤80; as
  Haulmer's own plugins map it), else the chosen activity's ``giro``;
* ``Acteco`` ← the chosen activity's ``codigoActividadEconomica`` (int or string in the wild: both are
  read), default the ``actividadPrincipal``; XSD ``Acteco``: positiveInteger, totalDigits 6;
* ``CdgSIISucur``/``DirOrigen`` (≤70)/``CmnaOrigen`` (≤20) ← the chosen ``sucursales[]`` entry, or the head
  office (root ``cdgSIISucur``/``direccion``/``comuna``) when the list is empty, the head office is chosen
  or the choice is unknown (Haulmer's WooCommerce plugin v1.0.12 does the same). The branch's own comuna
  is used (the WooCommerce plugin always uses the root one, a bug for multi-branch merchants, §5.1).
* Names per family (openfactura-api.md §2.3; EnvioBOLETA_v11.xsd vs DTE_v10.xsd): boleta
  ``RznSocEmisor``/``GiroEmisor`` and no ``Acteco``; factura/nota ``RznSoc``/``GiroEmis``/``Acteco``.

Receptor:

* boleta: ``RUTRecep`` 66666666-6 (consumidor final, [FmtBOL] p.9), or the real buyer when given;
* factura: ``RUTRecep`` (check digit verified with ``cl_sii.rut.Rut``, canonical ``12345678-5``),
  ``RznSocRecep`` (≤100), ``GiroRecep`` (≤40, cut), ``DirRecep`` (≤70), ``CmnaRecep`` (≤20); any of them
  missing is a refusal: the schema leaves Giro/Dir/Cmna optional but the format requires them
  (dte-rules.md §3). Lengths from DTE_v10.xsd ``Receptor`` (RznSocLargaType 100, GiroRecep 40,
  DirRecep 70, ComunaType 20, MailType 80).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from cl_sii.rut import Rut

from .errors import EmisorInvalid, ReceptorMissing, ReceptorRutInvalid
from .order import order_object
from .text import clean_cut, clean_text, normalize_cut, normalize_text

CONSUMIDOR_FINAL_RUT = "66666666-6"  # [FmtBOL] p.9: boleta without an identified buyer
RAZON_SOCIAL_MAX = 100
GIRO_EMISOR_MAX = 80
GIRO_RECEPTOR_MAX = 40
DIRECCION_MAX = 70
COMUNA_MAX = 20
CORREO_MAX = 80
ACTECO_DIGITS = 6
CDG_SII_SUCUR_DIGITS = 9  # CdgSIISucur: positiveInteger, totalDigits 9
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@lru_cache(maxsize=4096)
def canonical_rut(value: str) -> str | None:
    """``12.345.678-5`` → ``12345678-5`` when syntactically valid with a correct check digit."""
    text = (value or "").strip().replace(" ", "").replace(".", "")
    if not text:
        return None
    if "-" not in text and len(text) >= 2:
        text = f"{text[:-1]}-{text[-1]}"  # buyers often type 764304985 for 76.430.498-5
    try:
        return Rut(text, validate_dv=True).canonical
    except (ValueError, TypeError):
        return None


# --- Emisor ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Emisor:
    rut: str
    razon_social: str
    giro: str
    acteco: int | None
    cdg_sii_sucur: str | None
    direccion: str
    comuna: str

    def boleta_dict(self) -> dict[str, Any]:
        """Boleta names, in EnvioBOLETA_v11.xsd ``Emisor`` order; no ``Acteco``."""
        return self._with_origin(
            {"RUTEmisor": self.rut, "RznSocEmisor": self.razon_social, "GiroEmisor": self.giro}
        )

    def factura_dict(self) -> dict[str, Any]:
        """Factura/nota names, in DTE_v10.xsd ``Emisor`` order (RUTEmisor, RznSoc, GiroEmis, Acteco,
        CdgSIISucur, DirOrigen, CmnaOrigen)."""
        if self.acteco is None:
            raise EmisorInvalid(
                "La empresa no tiene actividad económica (Acteco) en OpenFactura: elige una en la "
                "configuración de la tienda.",
                field="acteco",
            )
        return self._with_origin(
            {"RUTEmisor": self.rut, "RznSoc": self.razon_social, "GiroEmis": self.giro, "Acteco": self.acteco}
        )

    def _with_origin(self, data: dict[str, Any]) -> dict[str, Any]:
        """Both schemas end ``Emisor`` with the branch and its address, in this order."""
        if self.cdg_sii_sucur:
            data["CdgSIISucur"] = self.cdg_sii_sucur
        if self.direccion:
            data["DirOrigen"] = self.direccion
        if self.comuna:
            data["CmnaOrigen"] = self.comuna
        return data


def _acteco_code(value: Any) -> int | None:
    text = str(value).strip() if value is not None else ""
    if not text.isdigit() or len(text) > ACTECO_DIGITS or int(text) == 0:
        return None
    return int(text)


def _sucursal_code(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    if not text.isdigit() or len(text) > CDG_SII_SUCUR_DIGITS or int(text) == 0:
        return None
    return str(int(text))


def _chosen_activity(organization: Mapping[str, Any], acteco: str | None) -> Mapping[str, Any] | None:
    activities = [a for a in organization.get("actividades") or [] if isinstance(a, Mapping)]
    if acteco is not None and str(acteco).strip():
        wanted = _acteco_code(acteco)
        for activity in activities:
            if _acteco_code(activity.get("codigoActividadEconomica")) == wanted:
                return activity
        return None
    for activity in activities:
        if activity.get("actividadPrincipal") in (True, "true", 1, "1"):
            return activity
    return activities[0] if activities else None


def emisor_from_organization(
    organization: Mapping[str, Any], *, acteco: str | None, sucursal: str | None
) -> tuple[Emisor, list[str]]:
    """The issuer for the chosen activity and branch, and Spanish warnings about fallbacks."""
    warnings: list[str] = []
    rut = canonical_rut(str(organization.get("rut") or ""))
    if rut is None:
        raise EmisorInvalid(
            f"El RUT de la empresa en OpenFactura no es válido ({organization.get('rut')!r}).",
            field="rut",
        )
    razon_social = clean_cut(organization.get("razonSocial"), RAZON_SOCIAL_MAX)
    if not razon_social:
        raise EmisorInvalid("La empresa no tiene razón social en OpenFactura.", field="razonSocial")

    activity = _chosen_activity(organization, acteco)
    acteco_code: int | None
    if activity is not None:
        acteco_code = _acteco_code(activity.get("codigoActividadEconomica"))
    else:
        acteco_code = _acteco_code(acteco)
        if acteco_code is not None:
            warnings.append(
                f"La actividad económica {acteco_code} no figura en OpenFactura; se usa igualmente."
            )
    giro = clean_cut(organization.get("glosaDescriptiva"), GIRO_EMISOR_MAX)
    if not giro and activity is not None:
        giro = clean_cut(activity.get("giro") or activity.get("actividadEconomica"), GIRO_EMISOR_MAX)
    if not giro:
        raise EmisorInvalid("La empresa no tiene giro en OpenFactura.", field="glosaDescriptiva")

    head_office = {
        "cdgSIISucur": organization.get("cdgSIISucur"),
        "direccion": organization.get("direccion"),
        "comuna": organization.get("comuna"),
    }
    branch: Mapping[str, Any] = head_office
    wanted = _sucursal_code(sucursal) if sucursal is not None and str(sucursal).strip() else None
    if wanted is not None and wanted != _sucursal_code(head_office["cdgSIISucur"]):
        for entry in organization.get("sucursales") or []:
            if isinstance(entry, Mapping) and _sucursal_code(entry.get("cdgSIISucur")) == wanted:
                branch = entry
                break
        else:
            warnings.append(f"La sucursal {wanted} no figura en OpenFactura; se usa la casa matriz.")
    comuna = clean_text(branch.get("comuna")) or clean_text(head_office["comuna"])
    return (
        Emisor(
            rut=rut,
            razon_social=razon_social,
            giro=giro,
            acteco=acteco_code,
            cdg_sii_sucur=_sucursal_code(branch.get("cdgSIISucur")),
            direccion=clean_cut(branch.get("direccion"), DIRECCION_MAX),
            comuna=clean_cut(comuna, COMUNA_MAX),
        ),
        warnings,
    )


# --- Receptor -------------------------------------------------------------------------------------

_FIELD_LABELS = {
    "rut": "el RUT",
    "razon_social": "la razón social",
    "giro": "el giro",
    "direccion": "la dirección",
    "comuna": "la comuna",
}
_ORDER_SOURCES = {
    "rut": "billing_address.taxid",
    "razon_social": "billing_information.company_name",
    "giro": "billing_information.business_activity",
    "direccion": "billing_address.address",
    "comuna": "billing_address.municipality",
}


@dataclass(frozen=True, slots=True)
class Receptor:
    """The buyer of a factura (or the identified buyer of a boleta)."""

    rut: str
    razon_social: str
    giro: str
    direccion: str
    comuna: str
    email: str | None = None

    @classmethod
    def from_order(cls, order_payload: Mapping[str, Any]) -> Receptor:
        """Factura data from the order (jumpseller-api.md §4.4): ``billing_address.taxid``,
        ``billing_information.company_name``/``business_activity``, ``billing_address.address`` plus
        ``street_number``, ``billing_address.municipality``; e-mail from ``customer.email``."""
        data = order_object(order_payload)
        billing = data.get("billing_address") if isinstance(data.get("billing_address"), Mapping) else {}
        info = data.get("billing_information")
        info = info if isinstance(info, Mapping) else {}
        customer = data.get("customer") if isinstance(data.get("customer"), Mapping) else {}
        address = " ".join(
            part
            for part in (clean_text(billing.get("address")), clean_text(billing.get("street_number")))
            if part
        )
        return cls(
            rut=clean_text(billing.get("taxid")),
            razon_social=clean_text(info.get("company_name")),
            giro=clean_text(info.get("business_activity")),
            direccion=address,
            comuna=clean_text(billing.get("municipality")),
            email=clean_text(customer.get("email")) or None,
        )

    @classmethod
    def boleta_buyer_from_order(cls, order_payload: Mapping[str, Any]) -> Receptor:
        """The buyer of a boleta over 135 UF from the order: :meth:`from_order`, with the billing name
        (or ``customer.fullname``) as razón social when there is no company name."""
        buyer = cls.from_order(order_payload)
        if buyer.razon_social:
            return buyer
        data = order_object(order_payload)
        billing = data.get("billing_address") if isinstance(data.get("billing_address"), Mapping) else {}
        customer = data.get("customer") if isinstance(data.get("customer"), Mapping) else {}
        name = " ".join(
            part for part in (clean_text(billing.get("name")), clean_text(billing.get("surname"))) if part
        )
        return replace(buyer, razon_social=name or clean_text(customer.get("fullname")))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Receptor:
        """``{"rut", "razon_social", "giro", "direccion", "comuna", "email"}`` (the ``--receptor`` file)."""
        return cls(
            rut=clean_text(data.get("rut")),
            razon_social=clean_text(data.get("razon_social")),
            giro=clean_text(data.get("giro")),
            direccion=clean_text(data.get("direccion")),
            comuna=clean_text(data.get("comuna")),
            email=clean_text(data.get("email")) or None,
        )

    def validated(self, *, factura: bool = True, source: str = "") -> Receptor:
        """A clean copy (canonical RUT, SII lengths) or a refusal naming the field.

        A factura needs all five fields; an identified boleta buyer needs RUT and razón social.
        ``source`` ("order") makes the message name the Jumpseller field to fill.
        """
        required = (
            ("rut", "razon_social", "giro", "direccion", "comuna") if factura else ("rut", "razon_social")
        )
        # The fields were decoded where they entered (from_order, from_json) or are a form's plain text:
        # normalizing again decodes nothing, so "&lt;" stays "&lt;" however often a receptor is validated.
        values = {name: normalize_text(getattr(self, name)) for name in _FIELD_LABELS}
        missing = [name for name in required if not values[name]]
        if missing:
            labels = [_FIELD_LABELS[name] for name in missing]
            names = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " y " + labels[-1]
            where = ""
            if source == "order":
                where = " (en el pedido: " + ", ".join(_ORDER_SOURCES[name] for name in missing) + ")"
            document = "La factura" if factura else "La boleta con datos del comprador"
            verb = "Falta" if len(missing) == 1 else "Faltan"
            raise ReceptorMissing(
                f"{verb} {names} del receptor{where}. {document} necesita RUT, razón social"
                + (", giro, dirección y comuna" if factura else "")
                + " del comprador: complétalos y vuelve a emitir.",
                field=missing[0],
            )
        rut = canonical_rut(values["rut"])
        if rut is None:
            raise ReceptorRutInvalid(
                f"El RUT del receptor «{values['rut']}» no es válido (revisa el dígito verificador).",
                field="rut",
            )
        if factura and rut == CONSUMIDOR_FINAL_RUT:
            raise ReceptorRutInvalid(
                "El RUT del receptor es el de consumidor final (66.666.666-6): una factura necesita el "
                "RUT de la empresa compradora.",
                field="rut",
            )
        email = (self.email or "").strip()
        return replace(
            self,
            rut=rut,
            razon_social=normalize_cut(values["razon_social"], RAZON_SOCIAL_MAX),
            giro=normalize_cut(values["giro"], GIRO_RECEPTOR_MAX),
            direccion=normalize_cut(values["direccion"], DIRECCION_MAX),
            comuna=normalize_cut(values["comuna"], COMUNA_MAX),
            email=email if email and len(email) <= CORREO_MAX and _EMAIL.match(email) else None,
        )

    def factura_dict(self) -> dict[str, Any]:
        """DTE_v10.xsd ``Receptor`` order: RUTRecep, RznSocRecep, GiroRecep, CorreoRecep, DirRecep,
        CmnaRecep."""
        data: dict[str, Any] = {"RUTRecep": self.rut, "RznSocRecep": self.razon_social}
        if self.giro:
            data["GiroRecep"] = self.giro
        return self._with_contact(data)

    def boleta_dict(self, *, cdg_int_recep: bool = False) -> dict[str, Any]:
        """EnvioBOLETA_v11.xsd ``Receptor`` order: RUTRecep, CdgIntRecep, RznSocRecep, CorreoRecep,
        DirRecep, CmnaRecep. ``CdgIntRecep`` (≤20) is mandatory over 135 UF ([FmtBOL] v4.1 p.8–10): the
        buyer's RUT serves as the internal code."""
        data: dict[str, Any] = {"RUTRecep": self.rut}
        if cdg_int_recep:
            data["CdgIntRecep"] = self.rut
        data["RznSocRecep"] = self.razon_social
        return self._with_contact(data)

    def _with_contact(self, data: dict[str, Any]) -> dict[str, Any]:
        """Both schemas end ``Receptor`` with email, address and comuna, in this order."""
        if self.email:
            data["CorreoRecep"] = self.email
        if self.direccion:
            data["DirRecep"] = self.direccion
        if self.comuna:
            data["CmnaRecep"] = self.comuna
        return data
