"""Control API of the fake OpenFactura (JSON, no auth; faults never apply here).

Pinned (acceptance checks use these exactly):

* ``GET /sandbox/openfactura/documents`` → every accepted document, oldest first:
  ``[{"token", "folio", "tipo", "rut_emisor", "idempotency_key", "received_at", "request"}]``
  (``request`` = the JSON body as received; optional filters ``?rut_emisor=``, ``?tipo=``,
  ``?idempotency_key=``);
* ``POST /sandbox/openfactura/documents/manual`` ``{"api_key", "tipo", "fch_emis", "mnt_total"}`` (optional
  ``mnt_neto``, ``mnt_exe``, ``iva``, ``rut_recep``, ``razon_social``, ``count``) → 201 with the rows
  created: documents "issued by hand" in OpenFactura (its web form, another system) by the company of
  ``api_key``: they take folios and appear in that key's issued list, but no request explains them;
* ``POST /sandbox/openfactura/faults`` ``{"latency_ms", "error_rate", "status", "timeout",
  "down_seconds"}`` (all optional) and ``DELETE /sandbox/openfactura/faults``.

Faults (``POST`` replaces the whole set: fields not given mean "no such fault"; answers the set):

* ``latency_ms`` — sleep before answering every API request;
* ``status`` — ``500``/``502``/``503``/``504`` (gateway body ``{"statusCode", "message"}``), ``429``
  (rate-limit body), ``"OF-21"``/``"OF-23"`` (also ``"OF-13"``, ``"OF-22"``: 400 with that code), or a
  data error ``"OF-02"``/``"OF-08"``/``"OF-10"`` (400, a rejection: with ``count`` 1, "rejected once");
* ``error_rate`` — probability 0..1 of answering ``status`` (503 when no status; 1 when only a
  status is given);
* ``timeout`` — ``true`` (stall ``timeout_seconds``, default 60 s, then 504) or a number of seconds;
  nothing is stored;
* ``timeout_after_emit`` — the emission is stored first, then the answer stalls the same time (a lost
  response: the retry must get OF-06 with the token);
* ``down_seconds`` — every API request answers 503 (with ``Retry-After``) for N seconds;
* ``count`` — only the next N matching requests fail (status/error_rate/timeouts), then it recovers;
* ``scope`` — ``"all"`` (default), ``"emit"`` (only ``POST /v2/dte/document``) or ``"read"``;
* ``estado`` — what ``.../status`` answers instead of ``"Aceptado"`` (e.g. ``"Rechazado"``);
* ``rate_limit`` — ``false``, ``true``, ``"N/M"`` or ``{"per_second", "per_minute"}``; kept across
  ``POST`` s unless given; ``DELETE`` returns it to the setting ``SANDBOX_OPENFACTURA_RATE_LIMIT``;
* ``reject_consumes_key`` — ``true``: "keys are consumed by rejected requests". A rejected emission (any
  OF code of the validation, or an injected data error) keeps its Idempotency-Key for 24 h without a
  document, so a later request with that key gets OF-06 without a token (openfactura-api.md, Addendum:
  undocumented, "assume it may"). Default ``false``: a rejected body claims nothing;
* ``of06_token_in`` — where an OF-06 answer carries the original token (§9 #1): ``"top"``
  (``error.token``, the docs' example), ``"details"`` (``error.details[{"field": "token", "issue"}]``,
  as the CLI reads it) or ``"both"`` (the default).

``GET /sandbox/openfactura/faults`` shows the current set. A stalled request wakes up when the faults
change. Also: ``GET /sandbox/openfactura/documents/<token>.pdf`` (the PDF, inline) and
``/sandbox/openfactura/autoservicio/<token>`` (the self-service page the ``SELF_SERVICE.url`` points at).
"""

from __future__ import annotations

import json
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.csrf import csrf_exempt

from . import companies, selectors, services
from .gateway import json_response, serialized
from .models import Document, Faults
from .validation import TIPO_NAMES


def _serialized(func):
    """Control views share the live test server's SQLite connection with the API (``serialized``)."""

    @wraps(func)
    def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        with serialized():
            return func(request, *args, **kwargs)

    return view


def _message(status: int, text: str) -> HttpResponse:
    return json_response({"message": text}, status)


def _method_not_allowed(*allowed: str) -> HttpResponse:
    response = _message(405, "Method Not Allowed")
    response["Allow"] = ", ".join(allowed)
    return response


@csrf_exempt
@_serialized
def documents(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return _method_not_allowed("GET")
    queryset = Document.objects.order_by("received_at", "id")
    if request.GET.get("rut_emisor"):
        queryset = queryset.filter(rut_emisor=request.GET["rut_emisor"].strip().upper())
    if request.GET.get("tipo", "").isdigit():
        queryset = queryset.filter(tipo=int(request.GET["tipo"]))
    if request.GET.get("idempotency_key"):
        queryset = queryset.filter(idempotency_key=request.GET["idempotency_key"])
    return json_response([selectors.control_json(document) for document in queryset])


MAX_HAND_ISSUED = 200


@csrf_exempt
@_serialized
def documents_by_hand(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _method_not_allowed("POST")
    if request.content_type != "application/json":
        return _message(415, "El cuerpo debe ser JSON (Content-Type: application/json)")
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return _message(400, "El cuerpo no es JSON válido")
    if not isinstance(data, dict):
        return _message(400, "El cuerpo debe ser un objeto JSON")
    account = companies.account_for(str(data.get("api_key") or ""))
    if account is None:
        return _message(400, "api_key desconocida (una clave de demostración o sandbox-<algo>)")
    count = data.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_HAND_ISSUED:
        return _message(400, f"count debe ser un entero entre 1 y {MAX_HAND_ISSUED}")
    try:
        created = [services.document_issue_by_hand(account=account, data=data) for _ in range(count)]
    except services.HandIssueInvalid as exc:
        return _message(400, str(exc))
    return json_response([selectors.control_json(document) for document in created], 201)


@csrf_exempt
@_serialized
def document_pdf(request: HttpRequest, token: str) -> HttpResponse:
    if request.method != "GET":
        return _method_not_allowed("GET")
    document = selectors.document_by_token(token)
    if document is None:
        return _message(404, "Not Found")
    response = HttpResponse(selectors.document_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="dte-{document.tipo}-{document.folio}.pdf"'
    return response


@csrf_exempt
@_serialized
def faults(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return json_response(services.faults_json(Faults.current()))
    if request.method == "DELETE":
        return json_response(services.faults_json(services.faults_clear()))
    if request.method != "POST":
        return _method_not_allowed("GET", "POST", "DELETE")
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return _message(400, "El cuerpo no es JSON válido")
    if not isinstance(data, dict):
        return _message(400, "El cuerpo debe ser un objeto JSON")
    try:
        current = services.faults_set(data=data)
    except services.FaultsInvalid as exc:
        return _message(400, str(exc))
    return json_response(services.faults_json(current))


@_serialized
def self_service(request: HttpRequest, token: str) -> HttpResponse:
    """The page a ``SELF_SERVICE.url`` leads to: the document and its PDF (no conversion to factura)."""
    document = selectors.document_by_token(token)
    if document is None:
        return HttpResponse("Enlace no encontrado", status=404, content_type="text/plain; charset=utf-8")
    rows = [
        ("Documento", TIPO_NAMES.get(document.tipo, document.tipo)),
        ("Folio", document.folio if document.folio is not None else "pendiente"),
        ("Emisor", document.rut_emisor),
        ("Fecha", document.fch_emis.isoformat()),
        ("Total", f"$ {document.mnt_total:,}".replace(",", ".")),
    ]
    html = format_html(
        "<!doctype html><html lang='es'><head><meta charset='utf-8'><meta name='robots' content='noindex'>"
        "<title>Autoservicio (sandbox)</title></head><body><h1>Autoservicio — sandbox</h1><dl>{}</dl>"
        "<p><a href='{}'>Descargar PDF</a></p></body></html>",
        format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows),
        reverse("sandbox_openfactura_document_pdf", args=[document.token]),
    )
    return HttpResponse(html)
