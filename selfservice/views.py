"""The customer's pages under ``/documento/<token>/``: parse the link, rate-limit, call one service.

Every page carries ``noindex``; a link that does not verify (tampered, foreign, unknown order) is one
uniform 404; a link past its SII window (``services.window_end``) is a 410, unless there is already a
result to show."""

from __future__ import annotations

import hashlib
import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from core.ratelimit import BudgetExhausted, try_acquire
from emission.client import OpenFacturaError
from emission.dte.parties import GIRO_RECEPTOR_MAX, canonical_rut
from emission.models import DocumentKind, EmissionMode
from emission.services import emission_settings_for, openfactura_client_for
from integration.client import JumpsellerTransientError
from selfservice import selectors, services
from selfservice.forms import FacturaForm

logger = logging.getLogger(__name__)

FORM_LIMITS = ((6, 60.0), (30, 3600.0))  # per link and IP
LOOKUP_LIMITS = ((10, 60.0), (60, 3600.0))
ADVANCE_LIMITS = ((1, 10.0),)  # per conversion / document, whoever visits


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "-"


def _limited(request: HttpRequest, token: str, what: str, limits) -> bool:
    link = hashlib.sha256(token.encode()).hexdigest()[:16]
    return try_acquire(f"selfservice:{what}:{link}:{_client_ip(request)}", limits) > 0


def _noindex(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"  # the token never leaves in a Referer; POST keeps its Origin
    return response


def _problem(request: HttpRequest, status: int, title: str, message: str, store=None) -> HttpResponse:
    return _noindex(
        render(
            request,
            "selfservice/problem.html",
            {"title": title, "message": message, "store": store},
            status=status,
        )
    )


def _not_found(request: HttpRequest) -> HttpResponse:
    return _problem(
        request,
        404,
        "Enlace no válido",
        "Este enlace no existe o está incompleto. Revisa que lo hayas copiado entero desde el correo.",
    )


@require_http_methods(["GET", "POST"])
def document_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        store_id, order_id = services.link_parse(token)
        state = selectors.page_state(store_id=store_id, order_id=order_id)
    except services.LinkInvalid:
        return _not_found(request)
    except JumpsellerTransientError:
        return _problem(
            request, 503, "Intenta nuevamente", "La tienda no respondió. Intenta en unos minutos."
        )
    if state.order.get("status_enum") == "canceled" and not state.documents:
        return _problem(request, 410, "Orden anulada", "Esta orden fue anulada: no hay documento que emitir.")
    if state.expired and not state.completed:
        return _problem(
            request,
            410,
            "Enlace vencido",
            f"El plazo para obtener el documento de esta orden terminó el {state.deadline:%d-%m-%Y}. "
            "Si necesitas ayuda, escribe a la tienda.",
            store=state.store,
        )
    if state.conversion is not None and state.conversion.state != "done":
        # A visit moves an unfinished conversion forward (a failed factura is retried), at most every
        # ADVANCE_LIMITS so that reloading cannot hammer OpenFactura; the sweep does the rest.
        if (
            try_acquire(
                f"selfservice:advance:{state.conversion.pk}:{state.conversion.created_at.timestamp()}",
                ADVANCE_LIMITS,
            )
            <= 0
        ):
            services.conversion_advance(store_id=store_id, conversion_id=state.conversion.pk)
            state = selectors.page_state(store_id=store_id, order_id=order_id)
    elif state.sale is not None and services.sale_needs_retry(state.sale, mode=state.mode):
        if (
            try_acquire(
                f"selfservice:sale:{state.sale.pk}:{state.sale.created_at.timestamp()}", ADVANCE_LIMITS
            )
            <= 0
        ):
            services.selfservice_sale_emit(
                store_id=store_id, order_id=order_id, kind=DocumentKind.BOLETA, receptor=None
            )
            state = selectors.page_state(store_id=store_id, order_id=order_id)

    form = FacturaForm()
    error = ""
    status = 200
    if request.method == "POST" and not state.completed:
        if _limited(request, token, "form", FORM_LIMITS):
            return _problem(
                request, 429, "Demasiados intentos", "Espera un minuto y vuelve a intentarlo.", state.store
            )
        choice = request.POST.get("documento") or "factura"
        if state.mode == EmissionMode.LINK_SOLO_BOLETA:
            choice = "boleta"
        if state.mode == EmissionMode.BOLETA_CONVERTIBLE:
            choice = "factura"
        form = FacturaForm(request.POST)
        try:
            if choice == "boleta":
                services.selfservice_sale_emit(
                    store_id=store_id, order_id=order_id, kind=DocumentKind.BOLETA, receptor=None
                )
                form = FacturaForm()
            elif form.is_valid():
                if state.mode == EmissionMode.BOLETA_CONVERTIBLE:
                    services.conversion_request(store_id=store_id, order_id=order_id, receptor=form.receptor)
                else:
                    services.selfservice_sale_emit(
                        store_id=store_id,
                        order_id=order_id,
                        kind=DocumentKind.FACTURA,
                        receptor=form.receptor,
                    )
            else:
                status = 422
        except services.SelfserviceRefused as refusal:
            error, status = refusal.message, 409
        except JumpsellerTransientError:
            error, status = "La tienda no respondió. Intenta nuevamente en unos minutos.", 503
        if status == 200:
            state = selectors.page_state(store_id=store_id, order_id=order_id)
    context = {
        "state": state,
        "store": state.store,
        "summary": selectors.order_summary(state.order),
        "form": form,
        "error": error,
        "lookup_url": request.path + "contribuyente/",
        "demo": state.cfg.demo_mode,
    }
    return _noindex(render(request, "selfservice/page.html", context, status=status))


@require_GET
def taxpayer_lookup(request: HttpRequest, token: str) -> HttpResponse:
    """Prefill for the factura form from OpenFactura ``GET /v2/dte/taxpayer/{rut}`` (openfactura-api
    §5.3). Unknown RUT → 200 with nulls upstream → ``{"found": false}``: the fields stay empty."""
    try:
        store_id, _ = services.link_parse(token)
    except services.LinkInvalid:
        return _noindex(JsonResponse({"error": "not_found"}, status=404))
    rut = canonical_rut(request.GET.get("rut", ""))
    if rut is None:
        return _noindex(JsonResponse({"error": "rut_invalido"}, status=400))
    if _limited(request, token, "lookup", LOOKUP_LIMITS):
        return _noindex(JsonResponse({"error": "rate_limited"}, status=429))
    cfg = emission_settings_for(store_id=store_id)
    try:
        data = openfactura_client_for(cfg).taxpayer(rut) or {}
    except (OpenFacturaError, BudgetExhausted) as exc:
        logger.info("taxpayer lookup failed: %s", exc)
        return _noindex(JsonResponse({"found": False}))
    if not data.get("razonSocial"):
        return _noindex(JsonResponse({"found": False}))
    activities = [a for a in data.get("actividades") or [] if isinstance(a, dict)]
    main = next((a for a in activities if a.get("actividadPrincipal")), activities[0] if activities else {})
    return _noindex(
        JsonResponse(
            {
                "found": True,
                "rut": rut,
                "razon_social": str(data.get("razonSocial") or "")[:100],
                "giro": str(main.get("giro") or "")[:GIRO_RECEPTOR_MAX],
                "direccion": str(data.get("direccion") or "")[:70],
                "comuna": str(data.get("comuna") or "")[:20],
                "email": str(data.get("email") or "")[:80],
            }
        )
    )
