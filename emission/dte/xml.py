"""The ``dte`` object of an OpenFactura body as SII XML, for the pre-flight schema validation.

OpenFactura's ``dte`` is "the JSON version of the SII XML" (openfactura-api.md §2.2): object keys are
element names, lists are repeated elements, numbers are written the SII way (dot, no exponent, no
trailing zeros: dte-rules.md §2.1). Namespace ``http://www.sii.cl/SiiDte`` (every SII schema's
``targetNamespace``).

OpenFactura stamps and signs the document itself; both schemas nevertheless require the stamp (``TED``
with its ``CAF``), ``TmstFirma`` and a ``ds:Signature`` (shared/sii-schemas/README.md; dte-rules.md §8
step 4). :func:`dte_to_xml` with ``placeholders=True`` inserts schema-shaped placeholders there (base64
``AAAA``, fixed dates) and writes ``Folio`` 0 as 1: ``FolioType`` is a positiveInteger and the real folio
is only known after OpenFactura assigns it. The placeholders are valid by construction, so any schema
error points at the document's own content.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lxml import etree

from .money import plain

SII_NS = "http://www.sii.cl/SiiDte"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
FOLIO_PLACEHOLDER = 1
_PLACEHOLDER_B64 = "AAAA"
_PLACEHOLDER_DATE = "2000-01-01"  # FechaType minInclusive
_PLACEHOLDER_TIME = "2000-01-01T00:00:00"

_qnames: dict[str, str] = {}
_TAG = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_valid_tags: set[str] = set()


def _q(tag: str) -> str:
    name = _qnames.get(tag)
    if name is None:
        name = _qnames[tag] = f"{{{SII_NS}}}{tag}"
    return name


def _text(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value
    if kind is int:
        return str(value)
    if kind is float:
        return plain(Decimal(repr(value)))
    if kind is bool:
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return plain(value)
    return str(value)


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _emit(out: list[str], tag: str, value: Any) -> None:
    """Append ``value`` as XML text to ``out`` (string building + one C parse is ~3× faster than
    creating lxml elements one by one; the parse still rejects anything that is not well-formed)."""
    if value is None:
        return
    kind = type(value)
    if kind is list or kind is tuple:
        for item in value:
            _emit(out, tag, item)
        return
    if tag not in _valid_tags:
        if not _TAG.fullmatch(tag):
            raise ValueError(f"{tag!r} is not an element name")
        _valid_tags.add(tag)
    if kind is dict or isinstance(value, Mapping):
        out.append(f"<{tag}>")
        for key, item in value.items():
            _emit(out, key, item)
        out.append(f"</{tag}>")
    else:
        out.append(f"<{tag}>{_escape(_text(value))}</{tag}>")


def _e(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    child = etree.SubElement(parent, _q(tag), attributes)
    if text is not None:
        child.text = text
    return child


def _ted_template() -> etree._Element:
    """``TED`` (DD with its CAF, FRMT): the same fields in DTE_v10.xsd and EnvioBOLETA_v11.xsd."""
    holder = etree.Element(_q("holder"), nsmap={None: SII_NS})
    ted = _e(holder, "TED", version="1.0")
    dd = _e(ted, "DD")
    _e(dd, "RE", "66666666-6")
    _e(dd, "TD", "33")  # replaced by the document's TipoDTE
    _e(dd, "F", str(FOLIO_PLACEHOLDER))
    _e(dd, "FE", _PLACEHOLDER_DATE)
    _e(dd, "RR", "66666666-6")
    _e(dd, "RSR", "PLACEHOLDER")
    _e(dd, "MNT", "0")
    _e(dd, "IT1", "PLACEHOLDER")
    caf = _e(dd, "CAF", version="1.0")
    da = _e(caf, "DA")
    _e(da, "RE", "66666666-6")
    _e(da, "RS", "PLACEHOLDER")
    _e(da, "TD", "33")  # replaced by the document's TipoDTE
    rng = _e(da, "RNG")
    _e(rng, "D", str(FOLIO_PLACEHOLDER))
    _e(rng, "H", str(FOLIO_PLACEHOLDER))
    _e(da, "FA", _PLACEHOLDER_DATE)
    rsapk = _e(da, "RSAPK")
    _e(rsapk, "M", _PLACEHOLDER_B64)
    _e(rsapk, "E", "Aw==")
    _e(da, "IDK", "100")
    _e(caf, "FRMA", _PLACEHOLDER_B64, algoritmo="SHA1withRSA")
    _e(dd, "TSTED", _PLACEHOLDER_TIME)
    _e(ted, "FRMT", _PLACEHOLDER_B64, algoritmo="SHA1withRSA")
    return ted


def _signature_template() -> etree._Element:
    """``ds:Signature`` as xmldsignature_v10.xsd wants it (SignedInfo, SignatureValue, KeyInfo)."""

    def ds(
        parent: etree._Element | None, tag: str, text: str | None = None, **attributes: str
    ) -> etree._Element:
        name = f"{{{DS_NS}}}{tag}"
        if parent is None:
            element = etree.Element(name, attributes, nsmap={None: DS_NS})
        else:
            element = etree.SubElement(parent, name, attributes)
        if text is not None:
            element.text = text
        return element

    signature = ds(None, "Signature")
    signed_info = ds(signature, "SignedInfo")
    ds(signed_info, "CanonicalizationMethod", Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315")
    ds(signed_info, "SignatureMethod", Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1")
    reference = ds(signed_info, "Reference", URI="")
    transforms = ds(reference, "Transforms")
    ds(transforms, "Transform", Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature")
    ds(reference, "DigestMethod", Algorithm="http://www.w3.org/2000/09/xmldsig#sha1")
    ds(reference, "DigestValue", _PLACEHOLDER_B64)
    ds(signature, "SignatureValue", _PLACEHOLDER_B64)
    key_info = ds(signature, "KeyInfo")
    key_value = ds(key_info, "KeyValue")
    rsa = ds(key_value, "RSAKeyValue")
    ds(rsa, "Modulus", _PLACEHOLDER_B64)
    ds(rsa, "Exponent", "AQAB")
    x509 = ds(key_info, "X509Data")
    ds(x509, "X509Certificate", _PLACEHOLDER_B64)
    return signature


_TED_XML = etree.tostring(_ted_template(), encoding="unicode")
_SIGNATURE_XML = etree.tostring(_signature_template(), encoding="unicode")
_TIMESTAMP_XML = f"<TmstFirma>{_PLACEHOLDER_TIME}</TmstFirma>"


def _tipo_text(dte: Mapping[str, Any]) -> str:
    encabezado = dte.get("Encabezado")
    id_doc = encabezado.get("IdDoc") if isinstance(encabezado, Mapping) else None
    tipo = id_doc.get("TipoDTE") if isinstance(id_doc, Mapping) else None
    return _text(tipo) if tipo is not None else ""


def dte_to_text(dte: Mapping[str, Any], *, placeholders: bool = True) -> str:
    """The XML text of ``<DTE version="1.0"><Documento ID="...">...</Documento>[<ds:Signature/>]</DTE>``."""
    tipo = _tipo_text(dte)
    out = [f'<DTE xmlns="{SII_NS}" version="1.0"><Documento ID="T{tipo if tipo.isdigit() else "X"}F1">']
    for key, value in dte.items():
        _emit(out, key, value)
    if placeholders:
        for index, chunk in enumerate(out):
            if chunk == "<Folio>0</Folio>":
                out[index] = f"<Folio>{FOLIO_PLACEHOLDER}</Folio>"
                break
        out.append(_TED_XML.replace("<TD>33</TD>", f"<TD>{tipo}</TD>") if tipo.isdigit() else _TED_XML)
        out.append(_TIMESTAMP_XML)
        out.append("</Documento>")
        out.append(_SIGNATURE_XML)
    else:
        out.append("</Documento>")
    out.append("</DTE>")
    return "".join(out)


def dte_to_xml(dte: Mapping[str, Any], *, placeholders: bool = True) -> etree._Element:
    """The ``dte`` as an lxml element; with ``placeholders`` ready for schema validation.

    Raises ``ValueError`` (lxml's ``XMLSyntaxError`` included, via :class:`XmlError`) when a key is
    not an element name or a value cannot be XML text (control characters);
    :func:`emission.dte.validation.validate_body` turns that into a refusal.
    """
    text = dte_to_text(dte, placeholders=placeholders)
    try:
        return etree.fromstring(text, parser=_PARSER)
    except etree.XMLSyntaxError as error:
        raise XmlError(str(error)) from None


class XmlError(ValueError):
    """The ``dte`` cannot be written as well-formed XML."""


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def dte_to_string(dte: Mapping[str, Any], *, placeholders: bool = False) -> bytes:
    """The XML as ISO-8859-1 bytes (the SII's encoding), e.g. for a preview or a stored copy."""
    return etree.tostring(
        dte_to_xml(dte, placeholders=placeholders), xml_declaration=True, encoding="ISO-8859-1"
    )
