"""The customer's pages under ``/documento/<token>/``: parse the link, rate-limit, call one service.

Every page carries ``noindex``; a link that does not verify (tampered, foreign, unknown order, a store
that is not connected) is one uniform 404; a link past its SII window (``services.window_end``) is a 410,
unless there is already a result to show. The taxpayer lookup answers only while the page shows its form:
both go through :func:`_checked_state`.

Budgets (``core.ratelimit``, shared by every process), counted only for links that verify: the page, per
link (any IP) and per IP (any link), before the order is read; the form's POSTs and the lookup per link and
IP. Over a budget: 429 with ``Retry-After`` and nothing read. The order itself comes from a short-lived
cache (``selectors.page_order``), so reloads do not spend the store's Jumpseller budget.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from core.client_address import client_address
from core.ratelimit import WEB_MAX_WAIT, BudgetExhausted, Limit, try_acquire
from emission.client import OpenFacturaError
from emission.dte.parties import GIRO_RECEPTOR_MAX, canonical_rut
from emission.models import DocumentKind, EmissionMode
from emission.services import openfactura_client_for
from integration.client import JumpsellerTransientError
from integration.models import Store
from selfservice import selectors, services
from selfservice.forms import FacturaForm

logger = logging.getLogger(__name__)

FORM_LIMITS = ((6, 60.0), (30, 3600.0))  # per link and IP
LOOKUP_LIMITS = ((10, 60.0), (60, 3600.0))
ADVANCE_LIMITS = ((1, 10.0),)  # per conversion / document, whoever visits
# Visits of the page (any method). A customer opens their link a few times; an IP may be shared by many
# customers (mobile carriers' NAT), hence the higher per-IP budget.
PAGE_LINK_LIMITS = ((30, 60.0), (300, 3600.0))  # per link, any IP
PAGE_IP_LIMITS = ((60, 60.0),)  # per IP, any link


def _link_key(store_id: int, order_id: int) -> str:
    """A link's budget is its order's: every token of one order (they carry their signing time) shares it."""
    return hashlib.sha256(f"{store_id}:{order_id}".encode()).hexdigest()[:16]


def _limited(request: HttpRequest, link: str, what: str, limits) -> float:
    """Seconds to wait before this link and IP may do ``what`` again (0.0: go ahead, and counted)."""
    return try_acquire(f"selfservice:{what}:{link}:{client_address(request)}", limits)


def _page_limited(request: HttpRequest, link: str) -> float:
    """Seconds to wait before this page may be served again: per IP, then per link (0.0: counted)."""
    budgets: tuple[tuple[str, tuple[Limit, ...]], ...] = (
        (f"selfservice:page-ip:{client_address(request)}", PAGE_IP_LIMITS),
        (f"selfservice:page:{link}", PAGE_LINK_LIMITS),
    )
    for key, limits in budgets:
        wait = try_acquire(key, limits)
        if wait > 0:
            return wait
    return 0.0


def _retry_after(response: HttpResponse, wait: float) -> HttpResponse:
    response["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


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


@dataclass(frozen=True)
class Refusal:
    """Why a link gets no page (or no lookup): the page shows ``title`` and ``message``, the lookup
    answers ``{"error": code}``; both with ``status``."""

    status: int
    code: str
    title: str
    message: str
    store: Store | None = None


NOT_FOUND = Refusal(
    404,
    "not_found",
    "Enlace no válido",
    "Este enlace no existe o está incompleto. Revisa que lo hayas copiado entero desde el correo.",
)
TOO_MANY = Refusal(429, "rate_limited", "Demasiadas visitas", "Espera un minuto y vuelve a cargar la página.")


def _checked_state(
    *, store_id: int, order_id: int, fresh: bool, form: bool = False
) -> selectors.PageState | Refusal:
    """The page's checks, for the page and for the taxpayer lookup alike: the store must be connected and
    the order exist in it (else the uniform 404), not be canceled without documents (410), and the link
    be within its SII window unless there is a result to show (410). ``form``: the lookup, which only
    serves the factura form, also needs the window open and the form offered (409)."""
    try:
        state = selectors.page_state(store_id=store_id, order_id=order_id, fresh=fresh)
    except services.LinkInvalid:
        return NOT_FOUND
    except JumpsellerTransientError:
        return Refusal(
            503, "unavailable", "Intenta nuevamente", "La tienda no respondió. Intenta en unos minutos."
        )
    if state.order.get("status_enum") == "canceled" and not state.documents:
        return Refusal(
            410, "canceled", "Orden anulada", "Esta orden fue anulada: no hay documento que emitir."
        )
    if state.expired and (form or not state.completed):
        return Refusal(
            410,
            "expired",
            "Enlace vencido",
            f"El plazo para obtener el documento de esta orden terminó el {state.deadline:%d-%m-%Y}. "
            "Si necesitas ayuda, escribe a la tienda.",
            store=state.store,
        )
    if form and (state.completed or not state.offers_factura):
        return Refusal(
            409, "no_form", "Nada que completar", "Esta orden ya no necesita datos de factura.", state.store
        )
    return state


def _refusal_page(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    return _problem(request, refusal.status, refusal.title, refusal.message, store=refusal.store)


def _refusal_json(refusal: Refusal) -> HttpResponse:
    return _noindex(JsonResponse({"error": refusal.code}, status=refusal.status))


@require_http_methods(["GET", "POST"])
def document_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        store_id, order_id = services.link_parse(token)
    except services.LinkInvalid:
        return _refusal_page(request, NOT_FOUND)
    link = _link_key(store_id, order_id)
    wait = _page_limited(request, link)
    if wait > 0:
        return _retry_after(_refusal_page(request, TOO_MANY), wait)
    # A POST may issue a document: it decides on the order as Jumpseller has it now (and so do the
    # services it calls); a GET may show the copy of the last minute.
    state = _checked_state(store_id=store_id, order_id=order_id, fresh=request.method == "POST")
    if isinstance(state, Refusal):
        return _refusal_page(request, state)
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
        wait = _limited(request, link, "form", FORM_LIMITS)
        if wait > 0:
            return _retry_after(
                _problem(
                    request,
                    429,
                    "Demasiados intentos",
                    "Espera un minuto y vuelve a intentarlo.",
                    state.store,
                ),
                wait,
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
    §5.3). Unknown RUT → 200 with nulls upstream → ``{"found": false}``: the fields stay empty.

    Only while the page shows its form (:func:`_checked_state`): a lookup spends the store's OpenFactura
    budget, so an expired link, a store that was disconnected or a finished order get the page's answer
    and nothing is asked."""
    try:
        store_id, order_id = services.link_parse(token)
    except services.LinkInvalid:
        return _refusal_json(NOT_FOUND)
    wait = _limited(request, _link_key(store_id, order_id), "lookup", LOOKUP_LIMITS)
    if wait > 0:
        return _retry_after(_refusal_json(TOO_MANY), wait)
    state = _checked_state(store_id=store_id, order_id=order_id, fresh=False, form=True)
    if isinstance(state, Refusal):
        return _refusal_json(state)
    rut = canonical_rut(request.GET.get("rut", ""))
    if rut is None:
        return _noindex(JsonResponse({"error": "rut_invalido"}, status=400))
    cfg = state.cfg
    try:
        data = openfactura_client_for(cfg, budget_wait=WEB_MAX_WAIT).taxpayer(rut) or {}
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
