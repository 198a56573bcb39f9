"""The fake OpenFactura's XML of a DTE (its own, not the product's) and its SII schema check (OF-08).

OpenFactura receives the DTE as JSON "in SII names and hierarchy; section order matters"
(openfactura-api.md §2.2–§2.3) and turns it into the SII XML. This module does the same, element by
element **in the order the JSON gives**, so a body whose keys are out of the schema's order fails the
schema like it would at OpenFactura. The stamp (``TED``) and the XML signature are schema-shaped
placeholders: the sandbox has no CAF and no certificate (dte-rules.md §8 step 4).

Schemas: ``../shared/sii-schemas`` beside the repository (``DTE_v10.xsd`` for 33/34/56/61,
``BoletaDTE_wrapper.xsd`` for 39/41), or the folder in the setting ``SANDBOX_OPENFACTURA_SCHEMAS_DIR``
(environment ``SII_SCHEMAS_DIR``). Without that folder's ``DTE_v10.xsd``, 33/34/56/61 are checked
against the copy shipped in the ``cl-sii`` package (read here directly, never through the product's
engine), so the fake stays at least as strict as the docs in any clone; boletas are checked only when
the folder has ``BoletaDTE_wrapper.xsd`` (no package ships it). ``""`` disables the schema check.
"""

from __future__ import annotations

import os
import re
import threading
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree

from .validation import BOLETAS, CONSUMIDOR_FINAL, detail

SII_NS = "http://www.sii.cl/SiiDte"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
MAX_SCHEMA_DETAILS = 10
# Keys of a boleta body that the boleta schema does not have and OpenFactura tolerates (§9 #5, #6).
BOLETA_IGNORED = {("Emisor", "Acteco"), ("Totales", "TasaIVA")}
FACTURA_SCHEMA = "DTE_v10.xsd"
BOLETA_SCHEMA = "BoletaDTE_wrapper.xsd"
CL_SII_FACTURA_SCHEMA = ("cl_sii", "data/ref/factura_electronica/schemas-xml/DTE_v10.xsd")

_lock = threading.Lock()  # an XMLSchema's error log is per object: one validation at a time


def _configured_dir() -> Path | None:
    """The schemas folder to read (it may be missing), or ``None`` when the setting is ``""``."""
    from django.conf import settings

    configured = getattr(settings, "SANDBOX_OPENFACTURA_SCHEMAS_DIR", None)
    if configured is None:
        configured = os.environ.get("SII_SCHEMAS_DIR") or settings.BASE_DIR.parent / "shared" / "sii-schemas"
    return Path(configured) if configured else None


def schema_path(tipo: int) -> Path | None:
    """The XSD a document of ``tipo`` is checked against (``None``: no check)."""
    folder = _configured_dir()
    if folder is None:
        return None
    if tipo in BOLETAS:
        path = folder / BOLETA_SCHEMA
        return path if path.is_file() else None
    if (folder / FACTURA_SCHEMA).is_file():
        return folder / FACTURA_SCHEMA
    package, relative = CL_SII_FACTURA_SCHEMA
    return Path(str(resources.files(package).joinpath(relative)))


@lru_cache(maxsize=4)
def _schema(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(path))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return str(value)


def _append(parent: etree._Element, name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, list):
        for item in value:
            _append(parent, name, item)
        return
    element = etree.SubElement(parent, f"{{{SII_NS}}}{name}")
    if isinstance(value, dict):
        for key, child in value.items():
            _append(element, key, child)
    else:
        element.text = _text(value)


def _section(name: str, value: Any, *, boleta: bool, parent: etree._Element) -> None:
    if boleta and name == "Encabezado" and isinstance(value, dict):
        value = {
            key: (
                {k: v for k, v in block.items() if (key, k) not in BOLETA_IGNORED}
                if isinstance(block, dict)
                else block
            )
            for key, block in value.items()
        }
    _append(parent, name, value)


def build(dte: dict, *, tipo: int, folio: int, stamped_at: datetime) -> etree._Element:
    """``<DTE version="1.0"><Documento ID="T39F1000">…<TED/><TmstFirma/></Documento><ds:Signature/></DTE>``.

    Raises ``ValueError`` when a key is not a valid XML name or a value holds characters XML forbids.
    """
    root = etree.Element(f"{{{SII_NS}}}DTE", nsmap={None: SII_NS}, version="1.0")
    documento = etree.SubElement(root, f"{{{SII_NS}}}Documento", ID=f"T{tipo}F{folio}")
    boleta = tipo in BOLETAS
    for name, value in dte.items():
        _section(name, value, boleta=boleta, parent=documento)
    id_doc = documento.find(f"{{{SII_NS}}}Encabezado/{{{SII_NS}}}IdDoc/{{{SII_NS}}}Folio")
    if id_doc is not None:
        id_doc.text = str(folio)
    stamp = stamped_at.replace(microsecond=0, tzinfo=None).isoformat()
    _append_ted(documento, dte, tipo=tipo, folio=folio, stamp=stamp)
    etree.SubElement(documento, f"{{{SII_NS}}}TmstFirma").text = stamp
    _append_signature(root, reference=f"#T{tipo}F{folio}")
    return root


def _append_ted(documento: etree._Element, dte: dict, *, tipo: int, folio: int, stamp: str) -> None:
    enc = dte.get("Encabezado") or {}
    emisor, receptor = enc.get("Emisor") or {}, enc.get("Receptor") or {}
    id_doc, totales = enc.get("IdDoc") or {}, enc.get("Totales") or {}
    lines = dte.get("Detalle") or [{}]
    rut_emisor = str(emisor.get("RUTEmisor") or "")
    razon = str(emisor.get("RznSocEmisor") or emisor.get("RznSoc") or "")
    ted = {
        "DD": {
            "RE": rut_emisor,
            "TD": tipo,
            "F": folio,
            "FE": id_doc.get("FchEmis"),
            "RR": receptor.get("RUTRecep") or CONSUMIDOR_FINAL,
            "RSR": (str(receptor.get("RznSocRecep") or "CONSUMIDOR FINAL"))[:40],
            "MNT": totales.get("MntTotal"),
            "IT1": (str(lines[0].get("NmbItem") or "-"))[:40],
            "CAF": {
                "DA": {
                    "RE": rut_emisor,
                    "RS": razon[:40],
                    "TD": tipo,
                    "RNG": {"D": 1, "H": 999999},
                    "FA": "2024-01-01",
                    "RSAPK": {"M": "AAAA", "E": "Aw=="},
                    "IDK": 100,
                },
                "FRMA": "AAAA",
            },
            "TSTED": stamp,
        },
        "FRMT": "AAAA",
    }
    element = etree.SubElement(documento, f"{{{SII_NS}}}TED", version="1.0")
    for key, value in ted.items():
        _append(element, key, value)
    element.find(f"{{{SII_NS}}}DD/{{{SII_NS}}}CAF").set("version", "1.0")
    element.find(f"{{{SII_NS}}}DD/{{{SII_NS}}}CAF/{{{SII_NS}}}FRMA").set("algoritmo", "SHA1withRSA")
    element.find(f"{{{SII_NS}}}FRMT").set("algoritmo", "SHA1withRSA")


def _append_signature(root: etree._Element, *, reference: str) -> None:
    def ds(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{DS_NS}}}{name}", **attrs)
        element.text = text
        return element

    signature = etree.SubElement(root, f"{{{DS_NS}}}Signature", nsmap={"ds": DS_NS})
    signed = ds(signature, "SignedInfo")
    ds(signed, "CanonicalizationMethod", Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315")
    ds(signed, "SignatureMethod", Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1")
    ref = ds(signed, "Reference", URI=reference)
    ds(ref, "DigestMethod", Algorithm="http://www.w3.org/2000/09/xmldsig#sha1")
    ds(ref, "DigestValue", "AAAA")
    ds(signature, "SignatureValue", "AAAA")
    key_info = ds(signature, "KeyInfo")
    rsa = ds(ds(key_info, "KeyValue"), "RSAKeyValue")
    ds(rsa, "Modulus", "AAAA")
    ds(rsa, "Exponent", "AQAB")
    ds(ds(key_info, "X509Data"), "X509Certificate", "AAAA")


def to_bytes(root: etree._Element) -> bytes:
    """ISO-8859-1 bytes, as OpenFactura returns its XML (§2.2); other characters become references."""
    return etree.tostring(root, xml_declaration=True, encoding="ISO-8859-1")


_NS_PREFIX = re.compile(r"\{[^}]*\}")


def schema_errors(dte: dict, *, tipo: int, stamped_at: datetime) -> list[dict[str, Any]]:
    """The OF-08 details of ``dte`` against the SII schema (empty when valid or when no schema applies)."""
    path = schema_path(tipo)
    if path is None:
        return []
    try:
        root = build(dte, tipo=tipo, folio=1, stamped_at=stamped_at)
    except (ValueError, TypeError) as exc:
        return [detail("dte", f"No se pudo construir el XML: {exc}")]
    schema = _schema(str(path))
    with _lock:
        if schema.validate(root):
            return []
        entries = list(schema.error_log)
    details = []
    for entry in entries[:MAX_SCHEMA_DETAILS]:
        message = _NS_PREFIX.sub("", entry.message)
        match = re.match(r"Element '([^']+)'", message)
        details.append(detail(match.group(1) if match else "dte", message))
    return details
