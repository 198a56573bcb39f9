"""The fake OpenFactura's API, ``/sandbox/openfactura/v2/dte/...`` (contract: openfactura-api.md).

* ``POST /v2/dte/document`` — emission (§2): validation (``validation``, then the SII schema in
  ``dte_xml``), Idempotency-Key (``services``), folio, stored document; answers ``TOKEN`` and the parts
  asked for in ``response`` (``FOLIO``, ``RESOLUCION``, ``TIMBRE``, ``XML``, ``LOGO``, ``PDF``,
  ``SELF_SERVICE``), plus ``WARNING`` for tolerated keys.
* ``GET /v2/dte/document/{token}/{status|json|xml|pdf|cedible}`` and
  ``GET /v2/dte/document/{rut}/{tipo}/{folio}/{value}`` (§4.6). Choices: a bad ``value`` → 400 OF-10
  ``{"field": "Error", "issue": "foo es Incorrecto"}``; an unknown token or folio → 400 OF-22
  ``Problema al procesar los datos`` (what dev answers for an unknown folio). Only documents of the
  calling API key are visible.
* ``POST /v2/dte/document/issued`` — 30 a page, newest first, filters ``FchEmis``, ``TipoDTE``,
  ``RUTRecep`` (digits, no DV), ``Folio`` with ``eq/lt/gt/lte/gte/ne`` (a bare value means ``eq``;
  other keys are ignored); nothing → 204; a bad filter → the flat OF-10 form (§2.5).
* ``GET /v2/dte/organization`` (``?extra_fields=logo``), ``GET /v2/dte/organization/document``.
* ``GET /v2/dte/taxpayer/{rut}`` — unknown → 200 with nulls; malformed RUT or wrong check digit →
  400 OF-10 ``{"field": "rut", "issue": "RUT inválido : …"}`` (choice: the docs say nothing).
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import companies, dte_xml, gateway, pdf, selectors, services
from .companies import Account
from .gateway import api_view, json_response, not_found, of_error
from .models import Document, Faults, FolioCounter
from .validation import BOLETAS, Rejection, parse_rut, validate_emission

READ_VALUES = ("status", "json", "xml", "pdf", "cedible")
SANTIAGO = ZoneInfo("America/Santiago")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _local(moment) -> str:
    return timezone.localtime(moment, SANTIAGO).strftime("%Y-%m-%d %H:%M:%S")


# --- emission ----------------------------------------------------------------------------------
@api_view("POST", emits=True)
def document_emit(request: HttpRequest, *, account: Account, faults: Faults) -> HttpResponse:
    key = gateway.idempotency_key(request)
    if key is not None and len(key) > services.MAX_KEY_LENGTH:
        return of_error("OF-10", [{"field": "Idempotency-Key", "issue": "Largo máximo 255 caracteres"}])
    try:
        services.idempotency_check(account=account, key=key)  # a repeat is OF-06 whatever the body
        try:
            text = request.body.decode("utf-8")
            body = json.loads(text, parse_float=Decimal)
        except (UnicodeDecodeError, ValueError):
            raise Rejection("OF-20", [{"field": "body", "issue": "El cuerpo no es JSON válido"}]) from None
        emission = validate_emission(body, organization_rut=account.rut)
        schema_errors = dte_xml.schema_errors(emission.dte, tipo=emission.tipo, stamped_at=timezone.now())
        if schema_errors:
            raise Rejection("OF-08", schema_errors)
        document = services.document_emit(
            account=account, emission=emission, raw_body=text, idempotency_key=key
        )
    except services.Duplicate as duplicate:
        return json_response(duplicate.body(faults.of06_token_in), 400)
    except Rejection as rejection:
        if faults.reject_consumes_key:  # the fault "keys are consumed by rejected requests"
            services.idempotency_consume(account=account, key=key)
        return json_response(rejection.body(), 400)
    answer = _emission_answer(request, account=account, document=document, warnings=emission.warnings)
    return gateway.mark_stall_after_emit(json_response(answer), faults)


def _emission_answer(
    request: HttpRequest, *, account: Account, document: Document, warnings: list[str]
) -> dict[str, Any]:
    parts = set(document.response_parts)
    answer: dict[str, Any] = {"TOKEN": document.token}
    if "FOLIO" in parts and document.folio is not None:
        answer["FOLIO"] = document.folio
    if "RESOLUCION" in parts:
        resolucion = account.organization["resolucion"]
        answer["RESOLUCION"] = {"fecha": resolucion["fecha"], "numero": int(resolucion["numero"])}
    if "TIMBRE" in parts:
        answer["TIMBRE"] = _b64(pdf.timbre_png(document.token))
    if "XML" in parts:
        answer["XML"] = _b64(selectors.document_xml(document))
    if "LOGO" in parts:
        answer["LOGO"] = _b64(pdf.logo_png())
    if "PDF" in parts:
        answer["PDF"] = _b64(selectors.document_pdf(document))
    if "SELF_SERVICE" in parts:
        # §9 #2: an object with ``url`` (what Haulmer's plugins read), not a bare string.
        url = request.build_absolute_uri(reverse("sandbox_openfactura_self_service", args=[document.token]))
        answer["SELF_SERVICE"] = {"url": url}
    if warnings:
        answer["WARNING"] = "; ".join(warnings)
    return answer


# --- reads -------------------------------------------------------------------------------------
def _bad_value(value: str) -> HttpResponse:
    return of_error("OF-10", [{"field": "Error", "issue": f"{value} es Incorrecto"}])


def _unknown_document() -> HttpResponse:
    return of_error("OF-22", [{"field": "Error", "issue": "Documento no encontrado"}])


def _read(document: Document, value: str, *, faults: Faults, by_token: bool) -> HttpResponse:
    handle: dict[str, Any] = {"token": document.token} if by_token else {"folio": document.folio}
    if value == "status":
        return json_response({"estado": faults.estado or document.estado, **handle})
    if value == "json":
        return json_response(
            {
                "json": document.dte,
                "token": document.token,
                "FchRecepSII": _local(document.received_at),
                "FchRecepOF": _local(document.received_at),
            }
        )
    if value == "xml":
        return json_response({"xml": _b64(selectors.document_xml(document)), "token": document.token})
    if value == "pdf":
        return json_response({"pdf": _b64(selectors.document_pdf(document)), "folio": document.folio})
    # cedible: only documents that can be ceded (not boletas; [verificado-dev] §4.6).
    if document.tipo in BOLETAS:
        return of_error("OF-10", [{"field": "Error", "issue": "Documento sin cedible"}])
    return json_response({"cedible": _b64(selectors.document_pdf(document, cedible=True))})


@api_view("GET")
def document_by_token(request: HttpRequest, *, account: Account, faults: Faults, token: str, value: str):
    if value not in READ_VALUES:
        return _bad_value(value)
    document = Document.objects.filter(token=token, api_key_hash=account.key_hash).first()
    if document is None:
        return _unknown_document()
    return _read(document, value, faults=faults, by_token=True)


@api_view("GET")
def document_by_folio(
    request: HttpRequest, *, account: Account, faults: Faults, rut: str, tipo: str, folio: str, value: str
):
    if value not in READ_VALUES:
        return _bad_value(value)
    canonical = parse_rut(rut)
    if canonical is None or not tipo.isdigit() or not folio.isdigit():
        return _unknown_document()
    document = Document.objects.filter(
        rut_emisor=canonical, tipo=int(tipo), folio=int(folio), api_key_hash=account.key_hash
    ).first()
    if document is None:
        return _unknown_document()
    return _read(document, value, faults=faults, by_token=False)


@api_view("POST")
def documents_issued(request: HttpRequest, *, account: Account, faults: Faults) -> HttpResponse:
    try:
        filters = json.loads(request.body or b"{}")
    except ValueError:
        filters = None
    try:
        if not isinstance(filters, dict):
            raise selectors.FilterInvalid("Datos de entrada incorrectos")
        documents, page = selectors.documents_issued(api_key_hash=account.key_hash, filters=filters)
    except selectors.FilterInvalid as exc:
        return json_response(
            {"message": "Validación de Campos.", "code": "OF-10", "details": {"Error": str(exc)}}, 400
        )
    body = selectors.issued_page(documents, page)
    if body is None:
        return HttpResponse(status=204)
    return json_response(body)


# --- organization and taxpayers ------------------------------------------------------------------
@api_view("GET")
def organization(request: HttpRequest, *, account: Account, faults: Faults) -> HttpResponse:
    extra = {part.strip() for part in request.GET.get("extra_fields", "").split(",")}
    logo = _b64(pdf.logo_png()) if "logo" in extra else None
    return json_response(companies.organization_body(account, logo=logo))


@api_view("GET")
def organization_documents(request: HttpRequest, *, account: Account, faults: Faults) -> HttpResponse:
    """§5.2, in the real reply's names (``disponibles``, ``dte`` int)."""
    used = dict(FolioCounter.objects.filter(rut_emisor=account.rut).values_list("tipo", "next_folio"))
    documentos = []
    for tipo in (33, 34, 39, 41, 56, 61):
        first = services.FIRST_FOLIO[tipo]
        documentos.append(
            {
                "dte": tipo,
                "disponibles": 100_000 - (used.get(tipo, first) - first),
                "vencimiento": "2030-12-31",
            }
        )
    return json_response({"rut": account.rut, "documentos": documentos})


@api_view("GET")
def taxpayer(request: HttpRequest, *, account: Account, faults: Faults, rut: str) -> HttpResponse:
    body = companies.taxpayer(rut)
    if body is None:
        return of_error("OF-10", [{"field": "rut", "issue": f"RUT inválido : {rut}"}])
    return json_response(body)


@csrf_exempt
def api_not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    return not_found()
