"""Free text for the SII XML: no HTML, no control characters, ISO-8859-1 only, cut to the schema length.

The SII documents are ISO-8859-1 XML (openfactura-api.md §2.2: the ``XML`` response is Base64
ISO-8859-1), so characters outside Latin-1 cannot be printed on a DTE: typographic punctuation is mapped to
its ASCII form and anything else (emoji, CJK...) is dropped. Control characters are not allowed in XML at
all. Product names from Jumpseller may carry HTML, which is stripped and unescaped.
"""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<[^<>]*>")
_SPACE = re.compile(r"\s+")
_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2022": "-",
        "\u2026": "...",
        "\u20ac": "EUR",
        "\u2122": "(TM)",
    }
)


# Anything but printable ISO-8859-1 (0x20–0x7E, 0xA0–0xFF).
NOT_PRINTABLE_LATIN1 = re.compile(r"[^\x20-\x7e\xa0-\xff]")


def is_printable_latin1(text: str) -> bool:
    return NOT_PRINTABLE_LATIN1.search(text) is None


def clean_text(value: object) -> str:
    """One line of printable ISO-8859-1 text: tags removed, entities decoded, spaces collapsed."""
    if value is None:
        return ""
    text = str(value)
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = _SPACE.sub(" ", text.translate(_PUNCTUATION))
    if not (text.isascii() and text.isprintable()):
        text = NOT_PRINTABLE_LATIN1.sub("", text)
    return text.strip()


def cut(text: str, length: int) -> str:
    """At most ``length`` characters (SII lengths count characters of the ISO-8859-1 text)."""
    return text if len(text) <= length else text[:length].rstrip()


def clean_cut(value: object, length: int) -> str:
    return cut(clean_text(value), length)
