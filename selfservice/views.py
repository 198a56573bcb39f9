"""The customer's pages under ``/documento/<token>/``: parse the link, rate-limit, call one service.

Every page carries ``noindex``; a link that does not verify (tampered, foreign, unknown order, a store
that is not connected) is one uniform 404; a link past its SII window (``services.window_end``) is a 410,
unless there is already a result to show. The taxpayer lookup answers only while the page shows its form:
both go through :func:`_checked_state`. A canceled order or an annulled document says so instead of the
form (``selectors.page_closure``). A factura (and mode 3's choice) is issued only from a confirmation
step that shows what will be issued; every POST that issued something answers 303 (POST/redirect/GET).

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

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from core.client_address import client_address
from core.ratelimit import WEB_MAX_WAIT, BudgetExhausted, Limit, try_acquire
from emission.client import OpenFacturaError
from emission.dte.parties import canonical_rut
from emission.models import DocumentKind, EmissionMode
from emission.services import openfactura_client_for
from integration.client import JumpsellerTransientError
from integration.models import Store
from selfservice import selectors, services
from selfservice.forms import GIRO_INPUT_MAX, FacturaForm, document_choice

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
    if form and (state.completed or not state.offers_factura or selectors.page_closure(state)):
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
    state = _advance(request, state, link=link, store_id=store_id, order_id=order_id)
    closure = selectors.page_closure(state)
    if request.method == "POST" and not state.completed and not closure:
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
        return _post(request, state, store_id=store_id, order_id=order_id)
    if request.method == "POST":  # nothing left to ask: the page as it is now (POST/redirect/GET)
        return _see_other(request.path)
    return _page(request, state, closure=closure)


def _advance(
    request: HttpRequest, state: selectors.PageState, *, link: str, store_id: int, order_id: int
) -> selectors.PageState:
    """A visit moves an unfinished conversion forward (a failed factura is retried), or builds a link's
    boleta whose build never finished, at most every ADVANCE_LIMITS so that reloading cannot hammer
    OpenFactura; the sweep does the rest. Not the GET a POST redirected to: that POST just tried."""
    if request.method == "GET" and _issued_just_now(link, forget=True):
        return state
    conversion, sale = state.conversion, state.sale
    if conversion is not None and conversion.state != "done":
        key = f"selfservice:advance:{conversion.pk}:{conversion.created_at.timestamp()}"
        if try_acquire(key, ADVANCE_LIMITS) <= 0:
            services.conversion_advance(store_id=store_id, conversion_id=conversion.pk)
            return selectors.page_state(store_id=store_id, order_id=order_id)
    elif sale is not None and services.sale_needs_retry(sale, mode=state.mode):
        if try_acquire(f"selfservice:sale:{sale.pk}:{sale.created_at.timestamp()}", ADVANCE_LIMITS) <= 0:
            services.selfservice_sale_emit(
                store_id=store_id, order_id=order_id, kind=DocumentKind.BOLETA, receptor=None
            )
            return selectors.page_state(store_id=store_id, order_id=order_id)
    return state


def _see_other(path: str) -> HttpResponse:
    """303 to the page: after a POST that did something, a reload shows the result and resubmits nothing."""
    response = HttpResponseRedirect(path)
    response.status_code = 303
    return _noindex(response)


def _choice(state: selectors.PageState, data) -> str | None:
    """The document asked for: fixed by modes 2 and 4; chosen by the customer in mode 3 (``None``: not)."""
    if state.mode == EmissionMode.LINK_SOLO_BOLETA:
        return "boleta"
    if state.mode == EmissionMode.BOLETA_CONVERTIBLE:
        return "factura"
    return document_choice(data, mode_chooses=True)


def _post(request: HttpRequest, state: selectors.PageState, *, store_id: int, order_id: int) -> HttpResponse:
    """The form's POST. Mode 4's boleta is issued at once (nothing to check); a factura, and mode 3's
    choice, first go to a confirmation step showing what will be issued (``paso=confirmar`` issues it,
    ``paso=corregir`` goes back to the form). Issued → 303 to the page."""
    step = request.POST.get("paso", "")
    choice = _choice(state, request.POST)
    if choice is None:
        return _page(
            request,
            state,
            form=FacturaForm(initial=request.POST.dict()),
            choice_error="Elige si quieres boleta o factura.",
            status=422,
        )
    form = FacturaForm(request.POST) if choice == "factura" else FacturaForm(initial={"documento": choice})
    if step == "corregir":
        return _page(request, state, form=FacturaForm(initial=request.POST.dict()))
    if choice == "factura" and not form.is_valid():
        return _page(request, state, form=form, status=422)
    receptor = form.receptor if choice == "factura" else None
    if step != "confirmar" and state.mode != EmissionMode.LINK_SOLO_BOLETA:
        return _confirmation(request, state, choice=choice, form=form)
    try:
        _issue(state, store_id=store_id, order_id=order_id, choice=choice, receptor=receptor)
    except services.SelfserviceRefused as refusal:
        return _page(request, state, form=form, error=refusal.message, status=409)
    except JumpsellerTransientError:
        error = "La tienda no respondió. Intenta nuevamente en unos minutos."
        return _page(request, state, form=form, error=error, status=503)
    return _see_other(request.path)


def _issued_just_now(link: str, *, forget: bool = False) -> bool:
    """Whether a POST of this link just issued (or tried to issue) its document; ``forget``: once."""
    key = f"selfservice:issued:{link}"
    found = cache.get(key) is not None
    if found and forget:
        cache.delete(key)
    return found


def _issue(state: selectors.PageState, *, store_id: int, order_id: int, choice: str, receptor) -> None:
    """Issue what the customer confirmed. The GET it redirects to does not try again at once (a failed
    factura is retried by the next visit and the sweep, as before the redirect)."""
    if choice == "factura" and state.mode == EmissionMode.BOLETA_CONVERTIBLE:
        services.conversion_request(store_id=store_id, order_id=order_id, receptor=receptor)
    else:
        kind = DocumentKind.FACTURA if choice == "factura" else DocumentKind.BOLETA
        services.selfservice_sale_emit(store_id=store_id, order_id=order_id, kind=kind, receptor=receptor)
    cache.set(f"selfservice:issued:{_link_key(store_id, order_id)}", 1, 60)


def _confirmation(
    request: HttpRequest, state: selectors.PageState, *, choice: str, form: FacturaForm
) -> HttpResponse:
    """What will be issued, as it will go in the document: type, receptor (the giro as shortened to the
    SII's 40 characters), total; the form carries the same values back with ``paso=confirmar``."""
    receptor = form.receptor if choice == "factura" else None
    fields = {"documento": choice}
    if receptor is not None:
        fields.update(
            rut=receptor.rut,
            razon_social=receptor.razon_social,
            giro=receptor.giro,
            direccion=receptor.direccion,
            comuna=receptor.comuna,
            email=form.cleaned_data["email"],
        )
    context = {
        "state": state,
        "store": state.store,
        "summary": selectors.order_summary(state.order),
        "choice": choice,
        "receptor": receptor,
        "email": fields.get("email", ""),
        "giro_original": form.giro_original if receptor is not None else "",
        "total": selectors.factura_total(state) if choice == "factura" else state.order.get("total"),
        "fields": fields,
        "demo": state.cfg.demo_mode,
    }
    return _noindex(render(request, "selfservice/confirm.html", context))


def _page(
    request: HttpRequest,
    state: selectors.PageState,
    *,
    form: FacturaForm | None = None,
    closure: selectors.PageClosure | None = None,
    error: str = "",
    choice_error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "state": state,
        "store": state.store,
        "summary": selectors.order_summary(state.order),
        "rows": selectors.order_summary_rows(state.order),
        "closure": closure,
        "form": form or FacturaForm(),
        "error": error,
        "choice_error": choice_error,
        "lookup_url": request.path + "contribuyente/",
        "demo": state.cfg.demo_mode,
    }
    return _noindex(render(request, "selfservice/page.html", context, status=status))


@require_GET
def taxpayer_lookup(request: HttpRequest, token: str) -> HttpResponse:
    """Prefill for the factura form from OpenFactura ``GET /v2/dte/taxpayer/{rut}`` (openfactura-api
    §5.3). Unknown RUT → 200 with nulls upstream → ``{"found": false}``; OpenFactura not answering →
    ``{"found": false, "error": "unavailable"}``. Either way the page asks the customer to type the data.

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
        return _noindex(JsonResponse({"found": False, "error": "unavailable"}))
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
                # Whole (up to the field's length): the form shortens it at a word boundary and the
                # confirmation step shows the customer the giro that goes in the factura.
                "giro": " ".join(str(main.get("giro") or "").split())[:GIRO_INPUT_MAX],
                "direccion": str(data.get("direccion") or "")[:70],
                "comuna": str(data.get("comuna") or "")[:20],
                "email": str(data.get("email") or "")[:80],
            }
        )
    )
