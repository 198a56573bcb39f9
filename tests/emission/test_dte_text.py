"""Text in documents (dte-semantics.md §4 "Text"): entities decoded once, ISO-8859-1, whitespace collapsed,
cut to the field's length, nothing else removed — text between angle brackets is data."""

from __future__ import annotations

import html
from dataclasses import asdict

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from emission.dte import Receptor, StoreDteSettings
from emission.dte.classify import shipping_name
from emission.dte.notas import build_nota_credito_anula
from emission.dte.text import EQUIVALENTS, clean_cut, clean_text, normalize_cut, normalize_text
from emission.dte.validation import check_schema
from emission.dte.xml import SII_NS, dte_to_string

from .dte_support import BUYER, TODAY, build, detalle, paid_order, product

EL_ROBLE = "Comercializadora <El Roble> S.A."


def _with_company(name: str) -> dict:
    order = paid_order([product("Polera <XL>", 1, 11990)], buyer=True)
    order["order"]["billing_information"] = {**BUYER["billing_information"], "company_name": name}
    return order


# --- examples -------------------------------------------------------------------------------------


def test_a_razon_social_with_angle_brackets_reaches_the_factura_whole():
    built = build(_with_company(EL_ROBLE), document="factura")
    assert built.body["dte"]["Encabezado"]["Receptor"]["RznSocRecep"] == EL_ROBLE
    assert detalle(built)[0]["NmbItem"] == "Polera <XL>"


def test_a_shipping_method_in_angle_brackets_keeps_its_words():
    assert shipping_name("Despacho propio <Región Metropolitana>") == (
        "Despacho - Despacho propio <Región Metropolitana>"
    )


def test_entities_are_decoded_once():
    assert clean_text("Comercializadora &lt;El Roble&gt; S.A.") == EL_ROBLE
    assert clean_text("Pérez &amp;amp; Cía") == "Pérez &amp; Cía"
    assert clean_text("&amp;lt;El Roble&amp;gt;") == "&lt;El Roble&gt;"
    assert clean_text("Caf&eacute; &#60;Sur&#x3E; &nbsp;&ndash;&hellip;") == "Café <Sur> -..."
    # Already clean text is never decoded again.
    assert normalize_text("&lt;El Roble&gt;") == "&lt;El Roble&gt;"


def test_characters_become_their_iso_8859_1_equivalent_or_are_dropped():
    assert (
        clean_text("  Polera <b>“Premium”</b> &amp; gorro\u200b\x07 🎁  ")
        == 'Polera <b>"Premium"</b> & gorro'
    )
    assert clean_text("Ñandú – Ü ‘ç’ … — «ß» ½ º") == "Ñandú - Ü 'ç' ... - «ß» ½ º"
    assert clean_text("Ｐｏｌｅｒａ ﬁna, Dvořák, Œuvre 5 €™") == "Polera fina, Dvorák, OEuvre 5 EUR(TM)"
    assert clean_text("Cafe\u0301 de\u00a0Chile\t\n\u2003 Sur\u00ad") == "Café de Chile Sur"
    assert clean_text("Emoji 😀🇨🇱👍🏽 solos") == "Emoji solos"
    assert clean_text("中文") == ""
    for source, equivalent in EQUIVALENTS.items():
        assert clean_text(f"a{source}b") == f"a{equivalent}b".replace("  ", " ")


def test_cut_after_conversion_and_never_on_a_space():
    assert clean_cut("Polera… grande", 8) == "Polera.."
    assert clean_cut("Polera      grande", 7) == "Polera"
    assert clean_cut("&lt;El Roble&gt;", 4) == "<El"
    assert normalize_cut("a" * 90, 80) == "a" * 80


def test_a_receptor_validated_twice_is_not_decoded_twice():
    """from_order decodes; validated() (run again by the conversion and the builder) does not."""
    receptor = Receptor.from_order(_with_company("A &amp;lt;B&amp;gt; S.A."))
    assert receptor.razon_social == "A &lt;B&gt; S.A."
    once = receptor.validated()
    twice = Receptor(**asdict(once)).validated()
    assert once.razon_social == twice.razon_social == "A &lt;B&gt; S.A."
    built = build(_with_company("A &amp;lt;B&amp;gt; S.A."), document="factura")
    assert built.body["dte"]["Encabezado"]["Receptor"]["RznSocRecep"] == "A &lt;B&gt; S.A."
    form_typed = Receptor(
        rut="76430498-5", razon_social=EL_ROBLE, giro="Comercio", direccion="Prat 527", comuna="Curicó"
    )
    assert form_typed.validated().razon_social == EL_ROBLE


def test_a_nota_keeps_the_original_lines_and_receptor_text():
    """The stored body is already clean: its "&lt;" is text and is not decoded a second time."""
    original = build(_with_company(EL_ROBLE), document="factura")
    original.body["dte"]["Detalle"][0]["NmbItem"] = "Polera &lt;XL&gt;"
    nota = build_nota_credito_anula(
        original.body,
        original_tipo=original.tipo,
        original_folio=77,
        original_fecha=TODAY,
        settings=StoreDteSettings.demo(),
        today=TODAY,
    )
    assert detalle(nota)[0]["NmbItem"] == "Polera &lt;XL&gt;"
    assert nota.body["dte"]["Encabezado"]["Receptor"]["RznSocRecep"] == EL_ROBLE


# --- XML ------------------------------------------------------------------------------------------


def test_a_factura_with_angle_brackets_validates_and_round_trips_through_the_sii_xml():
    built = build(_with_company(f"{EL_ROBLE} & Cía"), document="factura")
    assert check_schema(built.body) == []  # cl-sii's DTE_v10.xsd
    xml = dte_to_string(built.body["dte"])
    assert b"Comercializadora &lt;El Roble&gt; S.A. &amp; C\xeda" in xml  # ISO-8859-1, escaped
    assert b"<El Roble>" not in xml
    parsed = etree.fromstring(xml)
    ns = {"sii": SII_NS}
    assert parsed.findtext(".//sii:Receptor/sii:RznSocRecep", namespaces=ns) == f"{EL_ROBLE} & Cía"
    assert parsed.findtext(".//sii:Detalle/sii:NmbItem", namespaces=ns) == "Polera <XL>"


# --- properties -----------------------------------------------------------------------------------

ENTITIES = [
    "&amp;",
    "&lt;",
    "&gt;",
    "&amp;lt;",
    "&amp;amp;",
    "&#60;",
    "&#x3E;",
    "&quot;",
    "&nbsp;",
    "&eacute;",
    "&ntilde;",
    "&ndash;",
    "&hellip;",
    "&#128512;",
    "&#0;",
    "&bogus;",
]
PIECES = st.one_of(
    st.sampled_from(ENTITIES),
    st.sampled_from(list("áéíóúñÑüÜçß&<>–—‐−‘’“”…\u00a0\u200b\u00ad \t\n-'\"«»¿¡°º")),
    st.sampled_from(
        ["😀", "🇨🇱", "👍🏽", "\u200d", "\ufe0f", "中", "€", "™", "ﬁ", "Ｐ", "e\u0301", "<\u0338"]
    ),
    st.text(alphabet=st.characters(codec="latin-1"), max_size=4),
    st.text(max_size=3),
)
TEXTS = st.lists(PIECES, max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(TEXTS, st.integers(min_value=1, max_value=120))
def test_random_text_follows_the_rule(source, length):
    decoded = html.unescape(source)
    text = clean_text(source)
    text.encode("iso-8859-1")  # never raises
    assert text.isprintable() and "\u00a0" not in text and "\u00ad" not in text
    assert "  " not in text and text == text.strip()
    # Angle brackets are data: every one of the decoded source is still there.
    assert text.count("<") >= decoded.count("<") and text.count(">") >= decoded.count(">")
    # Decoded once: normalizing again changes nothing (no second decoding, no second conversion) …
    assert normalize_text(text) == text
    # … and text escaped once comes back exactly as itself (entity-like text included, "&amp;lt;" too).
    assert clean_text(html.escape(text, quote=False)) == text
    assert clean_text(html.escape(source, quote=False)) == normalize_text(source)
    cut_text = clean_cut(source, length)
    assert len(cut_text) <= length and text.startswith(cut_text) and cut_text == cut_text.strip()
    assert cut_text == text or len(text) > length


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="latin-1", exclude_categories=("Cc",)), max_size=40))
def test_printable_latin1_is_kept_as_it_is(source):
    """Letters, punctuation and symbols ISO-8859-1 has are never converted (only spaces collapse)."""
    expected = " ".join(source.replace("\u00a0", " ").replace("\u00ad", "").split(" "))
    expected = " ".join(part for part in expected.split(" ") if part)
    assert normalize_text(source) == expected
