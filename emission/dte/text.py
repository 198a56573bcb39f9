"""Free text for the SII XML (dte-semantics.md §4 "Text"): entities decoded once, ISO-8859-1, nothing else
removed, whitespace collapsed, cut to the field's length.

The SII documents are ISO-8859-1 XML (openfactura-api.md §2.2: the ``XML`` response is Base64
ISO-8859-1), so a DTE can only carry printable Latin-1. Each other character becomes its obvious
equivalent, in this order (the first that yields printable Latin-1 wins):

1. whitespace of any kind (tab, newline, no-break and typographic spaces) → one space;
2. :data:`EQUIVALENTS` below: typographic quotes, dashes, bullet, ellipsis, fraction slash, ``œ``,
   ``€``, ``™``;
3. the Unicode compatibility form (NFKC) of the character: full-width ``Ａ`` → ``A``, ``ﬁ`` → ``fi``;
4. the character without its accents (NFKD minus combining marks): ``š`` → ``s``, ``ő`` → ``o``;
5. otherwise it is dropped (emoji, CJK, zero-width and control characters, the soft hyphen).

Letters Latin-1 has (``á é í ó ú ñ Ñ ü ç``...) stay as they are; the text is NFC-composed first so a
decomposed ``e`` + combining acute is kept as ``é``. Text between angle brackets is data, never markup:
``Comercializadora <El Roble> S.A.`` stays whole; the XML writer and every page, email, PDF and CSV
escape it when they show it.

Entities are decoded exactly once, where source text enters the engine (:func:`clean_text`, for the
order, OpenFactura's organization and the merchant's input): ``&amp;lt;`` is the text ``&lt;``.
Text that is already clean (a validated receptor, a stored document's lines) goes through
:func:`normalize_text`, which decodes nothing and is idempotent.
"""

from __future__ import annotations

import html
import re
import unicodedata

_SPACE = re.compile(r" {2,}")

# Step 2 of the module docstring. Keys are the characters the Unicode compatibility forms leave alone
# (NFKC of ``–`` is ``–``); dashes and minus signs become the hyphen-minus, curly quotes straight ones.
EQUIVALENTS: dict[str, str] = {
    "\u2018": "'",  # ‘ left single quotation mark
    "\u2019": "'",  # ’ right single quotation mark (and apostrophe)
    "\u201a": "'",  # ‚ single low-9 quotation mark
    "\u201b": "'",  # ‛ single high-reversed-9 quotation mark
    "\u2032": "'",  # ′ prime
    "\u02bc": "'",  # ʼ modifier letter apostrophe
    "\u201c": '"',  # “ left double quotation mark
    "\u201d": '"',  # ” right double quotation mark
    "\u201e": '"',  # „ double low-9 quotation mark
    "\u201f": '"',  # ‟ double high-reversed-9 quotation mark
    "\u2033": '"',  # ″ double prime
    "\u2039": "<",  # ‹ single left-pointing angle quotation mark
    "\u203a": ">",  # › single right-pointing angle quotation mark
    "\u2010": "-",  # ‐ hyphen
    "\u2011": "-",  # ‑ non-breaking hyphen
    "\u2012": "-",  # ‒ figure dash
    "\u2013": "-",  # – en dash
    "\u2014": "-",  # — em dash
    "\u2015": "-",  # ― horizontal bar
    "\u2043": "-",  # ⁃ hyphen bullet
    "\u2212": "-",  # − minus sign
    "\u2022": "-",  # • bullet
    "\u2044": "/",  # ⁄ fraction slash
    "\u2026": "...",  # … horizontal ellipsis (NFKC would give the same)
    "\u0152": "OE",  # Œ
    "\u0153": "oe",  # œ
    "\u20ac": "EUR",  # €
    "\u2122": "(TM)",  # ™
    "\u00ad": "",  # soft hyphen: invisible, nothing to print
}

# Anything but printable ISO-8859-1 (0x20–0x7E, 0xA0–0xFF).
NOT_PRINTABLE_LATIN1 = re.compile(r"[^\x20-\x7e\xa0-\xff]")
# What normalized text is made of: printable Latin-1 without the no-break space and the soft hyphen.
_NORMAL = re.compile(r"[\x20-\x7e\xa1-\xac\xae-\xff]*")


def is_printable_latin1(text: str) -> bool:
    return NOT_PRINTABLE_LATIN1.search(text) is None


def _equivalent(char: str) -> str:
    """The printable Latin-1 text that stands for ``char`` (steps 1–5 of the module docstring)."""
    if char.isspace():
        return " "
    if char in EQUIVALENTS:
        return EQUIVALENTS[char]
    if _NORMAL.fullmatch(char):
        return char
    for form in (
        unicodedata.normalize("NFKC", char),
        "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)),
    ):
        if form and form != char and _NORMAL.fullmatch(form):
            return form
    return ""


class _Table(dict[int, str]):
    """``str.translate`` table filled on first use of each character (bounded: fuzzed input must not
    grow it without end)."""

    def __missing__(self, codepoint: int) -> str:
        value = _equivalent(chr(codepoint))
        if len(self) < 8192:
            self[codepoint] = value
        return value


_TABLE = _Table()


def normalize_text(value: object) -> str:
    """One line of printable ISO-8859-1 text: characters converted (module docstring), whitespace
    collapsed, no entity decoding. ``normalize_text(normalize_text(x)) == normalize_text(x)``."""
    if value is None:
        return ""
    text = str(value)
    if not (text.isascii() and text.isprintable()):
        if not text.isascii() and not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        text = text.translate(_TABLE)
    if "  " in text:
        text = _SPACE.sub(" ", text)
    return text.strip(" ")


def clean_text(value: object) -> str:
    """Source text (the order, OpenFactura's data, the merchant's input) for a DTE: HTML entities
    decoded once, then :func:`normalize_text`. Angle brackets and what they enclose are kept."""
    if value is None:
        return ""
    text = str(value)
    if "&" in text:
        text = html.unescape(text)
    return normalize_text(text)


def cut(text: str, length: int) -> str:
    """At most ``length`` characters (SII lengths count characters of the ISO-8859-1 text), without a
    trailing space."""
    return text if len(text) <= length else text[:length].rstrip(" ")


def clean_cut(value: object, length: int) -> str:
    """:func:`clean_text` cut to ``length``: for source text."""
    return cut(clean_text(value), length)


def normalize_cut(value: object, length: int) -> str:
    """:func:`normalize_text` cut to ``length``: for text that is already clean (decodes nothing)."""
    return cut(normalize_text(value), length)
