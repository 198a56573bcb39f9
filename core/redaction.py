"""Redaction of bearer capabilities from request lines, paths, URLs and query strings written to logs.

Whoever holds one of these URLs holds what it grants, so access logs must not keep them:

* ``/documento/<token>/…`` — the customer's self-service page (``/documento/[redactado]/contribuyente/``);
* ``/documentos/<token>.pdf`` — the permanent PDF link (``/documentos/[redactado].pdf``);
* ``code=`` and ``state=`` — the OAuth callback's authorization code and single-use state.
* ``of_sesion=`` — the merchant's embedded session token, carried by the pages inside the admin's iframe
  (``integration.decorators``).

``redact_capabilities`` rewrites only those parts and keeps the rest (method, path shape, other query
parameters such as ``rut`` or ``error``) so that the logs stay useful. It accepts a full request line,
a bare path, an absolute URL (a ``Referer``), a query string alone, and their percent-encoded forms
(``%2Fdocumento%2F…`` inside a ``next=`` parameter, ``/d%6Fcumento/…``, which routes all the same). It
imports nothing from Django: gunicorn's master process loads it before the application.
"""

from __future__ import annotations

import re

REDACTED = "[redactado]"


# ``%``, or ``%25`` once or more: a URL encoded inside a parameter of a URL that is itself encoded.
_PERCENT = "%(?:25)*"


def _literal(text: str) -> str:
    """A pattern for ``text`` where any character may also come percent-encoded, at any depth."""
    parts = []
    for char in text:
        codes = sorted({f"{ord(variant):02X}" for variant in {char.lower(), char.upper()}})
        parts.append(f"(?:{re.escape(char)}|{_PERCENT}(?:{'|'.join(codes)}))")
    return "".join(parts)


# A path segment ends at these characters, literal or percent-encoded (a URL inside a query string).
_STOP_CHARS = "/?#&\\s\"'<>"
_STOP_ENCODED = f"{_PERCENT}(?:2F|3F|23|26)"
_SEGMENT = rf"(?:(?!{_STOP_ENCODED})[^{_STOP_CHARS}])+"
_SLASH = _literal("/")

_SELFSERVICE = re.compile(rf"(?P<head>{_SLASH}{_literal('documento')}{_SLASH})(?P<token>{_SEGMENT})", re.I)
_PDF = re.compile(rf"(?P<head>{_SLASH}{_literal('documentos')}{_SLASH})(?P<token>{_SEGMENT})", re.I)
_PDF_SUFFIX = re.compile(rf"{_literal('.pdf')}$", re.I)
_SIGNED = re.compile(_literal(":"), re.I)
_PARAM_START = rf"(?:^|[?&;#\s\"']|{_PERCENT}(?:3F|26|23))"
_SECRET_PARAM = rf"(?:{_literal('code')}|{_literal('state')}|{_literal('of_sesion')}){_literal('=')}"
_QUERY_SECRET = re.compile(
    rf"(?P<head>{_PARAM_START}{_SECRET_PARAM})(?P<value>(?:(?!{_STOP_ENCODED})[^&#\s\"'<>])+)", re.I
)


def _pdf_token(match: re.Match[str]) -> str:
    token = match["token"]
    suffix = _PDF_SUFFIX.search(token)
    if suffix:
        return f"{match['head']}{REDACTED}{suffix.group()}"
    # A link cut before ``.pdf`` still carries the token; signed tokens always contain ``:``, the
    # merchant's ``/app/documentos/<pk>/`` never does.
    if _SIGNED.search(token):
        return f"{match['head']}{REDACTED}"
    return match.group()


def redact_capabilities(text: str) -> str:
    """``text`` with self-service and PDF link tokens, OAuth ``code``/``state`` values and embedded
    session tokens (``of_sesion``) redacted."""
    if not text:
        return text
    if "%" not in text:
        # Substring tests are an order of magnitude cheaper than the regexes, and most log fields
        # (addresses, statuses, user agents, ordinary paths) contain none of these words.
        lowered = text.lower()
        if not any(word in lowered for word in ("documento", "code", "state", "of_sesion")):
            return text
    text = _SELFSERVICE.sub(rf"\g<head>{REDACTED}", text)
    text = _PDF.sub(_pdf_token, text)
    return _QUERY_SECRET.sub(rf"\g<head>{REDACTED}", text)
