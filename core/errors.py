"""The product's error pages (400, 403, 404, 410, 429, 500): Spanish, in the layout of the URL's audience.

Merchant URLs (``/app/``, ``/jumpseller/app/``) get the merchant layout, customer URLs (``/documento/``,
and the PDF links ``/documentos/…``) the customer layout, every other URL the neutral product layout. The
pages say what happened and what to do, never why inside: no exception, path or setting reaches them.

Django calls the ``handler400``…``handler500`` views of ``openfactura_app.urls`` only with ``DEBUG`` off;
with it on, ``core.middleware.ErrorPageMiddleware`` puts these pages in place of Django's technical ones
on merchant and customer URLs, so a local run shows what production shows. Other URLs (the sandbox,
``/jumpseller/`` OAuth, ``/healthz``) keep the technical pages there: only a developer reads those.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.template import loader

logger = logging.getLogger(__name__)

MERCHANT, CUSTOMER, OTHER = "merchant", "customer", "other"
MERCHANT_PREFIXES = ("/app/", "/jumpseller/app/")
CUSTOMER_PREFIXES = ("/documento/", "/documentos/")
LAYOUTS = {MERCHANT: "merchant/base.html", CUSTOMER: "selfservice/base.html", OTHER: "base.html"}
STATUSES = (400, 403, 404, 410, 429, 500)
# The merchant layout names the session's store; an error page shows none (it may not be known, or be the
# problem). The customer layout then says "Documento tributario".
NO_STORE = {"name": "", "code": "", "status": ""}


@dataclass(frozen=True)
class ErrorText:
    title: str
    message: str


TEXTS = {
    400: ErrorText(
        "Solicitud no válida",
        "No pudimos entender lo que envió tu navegador. Vuelve a la página anterior, recárgala e inténtalo "
        "de nuevo.",
    ),
    403: ErrorText("Acceso no permitido", "No tienes permiso para ver esta página o hacer esta acción."),
    404: ErrorText(
        "Página no encontrada", "Esta dirección no existe o ya no está disponible. Revisa el enlace."
    ),
    410: ErrorText("Enlace vencido", "Esta página ya no está disponible: el plazo del enlace terminó."),
    429: ErrorText("Demasiadas solicitudes", "Espera un minuto y vuelve a intentarlo."),
    500: ErrorText(
        "Algo salió mal",
        "Tuvimos un problema al procesar tu solicitud. Quedó registrado; inténtalo de nuevo en unos minutos.",
    ),
}
# What a customer reads differs where they act differently: the link came in an email from the store.
CUSTOMER_TEXTS = {
    404: ErrorText(
        "Enlace no válido",
        "Este enlace no existe o está incompleto. Revisa que lo hayas copiado entero desde el correo.",
    ),
    500: ErrorText(
        "Algo salió mal",
        "Tuvimos un problema al mostrar tu documento. Inténtalo de nuevo en unos minutos; si sigue, "
        "escribe a la tienda.",
    ),
}
CSRF_TEXT = ErrorText(
    "El formulario venció",
    "Tu sesión cambió o el formulario quedó abierto mucho tiempo, así que no guardamos nada. Recarga la "
    "página y vuelve a enviarlo.",
)
CSRF_MERCHANT_HINT = (
    "Si sigue pasando dentro del panel de Jumpseller, tu navegador puede estar bloqueando las cookies: "
    "usa «Abrir en una pestaña nueva»."
)

# The last resort when even the layout cannot be rendered (a broken template, a failing tag): no layout,
# no template engine, still Spanish.
FALLBACK_HTML = (
    '<!doctype html><html lang="es-CL"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    '<meta name="robots" content="noindex"><title>{title} · OpenFactura para Jumpseller</title></head>'
    '<body style="font:16px/1.5 system-ui,sans-serif;margin:0;padding:24px;color:#1c2433">'
    "<h1>{title}</h1><p>{message}</p></body></html>"
)


def area_for(path: str) -> str:
    """Whose page ``path`` is: ``merchant``, ``customer`` or ``other``."""
    if path.startswith(MERCHANT_PREFIXES):
        return MERCHANT
    if path.startswith(CUSTOMER_PREFIXES):
        return CUSTOMER
    return OTHER


def text_for(status: int, area: str) -> ErrorText:
    if area == CUSTOMER and status in CUSTOMER_TEXTS:
        return CUSTOMER_TEXTS[status]
    return TEXTS.get(status, TEXTS[500] if status >= 500 else TEXTS[400])


def error_response(
    request: HttpRequest, status: int, *, text: ErrorText | None = None, hint: str = ""
) -> HttpResponse:
    """The error page for ``status`` in the layout of ``request``'s URL.

    Rendered without context processors (no session, messages or database read), so a 500 caused by a
    database that went away still gets its page."""
    area = area_for(request.path_info)
    text = text or text_for(status, area)
    context = {
        "status": status,
        "title": text.title,
        "message": text.message,
        "hint": hint,
        "layout": LAYOUTS[area],
        "area": area,
        "store": NO_STORE if area == MERCHANT else None,
    }
    response = HttpResponse(_render(request, status, context, text), status=status)
    response["Cache-Control"] = "no-store"
    if area != OTHER:
        response["X-Robots-Tag"] = "noindex, nofollow"
    if area == MERCHANT:
        _frame_for_admin(response)
    return response


def _render(request: HttpRequest, status: int, context: dict, text: ErrorText) -> str:
    """With the context processors (the merchant menu), else without them (they read the session and the
    database, which may be what failed), else plain HTML: an error page never fails."""
    template = loader.get_template(f"{status}.html" if status in STATUSES else "error.html")
    try:
        return template.render(context, request)
    except Exception:  # noqa: BLE001
        logger.warning("error page %s: rendered without context processors", status, exc_info=True)
    try:
        return template.render({**context, "request": request})
    except Exception:  # noqa: BLE001
        logger.exception("error page %s could not be rendered", status)
    return FALLBACK_HTML.format(title=text.title, message=text.message)


def _frame_for_admin(response: HttpResponse) -> None:
    """A merchant error page holds no data and offers no action: any store's admin may frame it, like the
    install pages (``integration.decorators.anonymous_origins``), so the merchant reads it in the admin."""
    from integration.decorators import anonymous_origins  # core imports no app at module level

    response["Content-Security-Policy"] = " ".join(["frame-ancestors", "'self'", *anonymous_origins()])
    response.xframe_options_exempt = True


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(request, 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: the form's token was missing or stale. The reason stays in the log."""
    logger.warning("CSRF failure: %s", reason)
    hint = CSRF_MERCHANT_HINT if area_for(request.path_info) == MERCHANT else ""
    return error_response(request, 403, text=CSRF_TEXT, hint=hint)


def status_for_exception(exception: Exception) -> int:
    """The status Django gives ``exception`` (``django.core.handlers.exception.response_for_exception``)."""
    from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
    from django.http import Http404
    from django.http.multipartparser import MultiPartParserError

    if isinstance(exception, Http404):
        return 404
    if isinstance(exception, PermissionDenied):
        return 403
    if isinstance(exception, (BadRequest, SuspiciousOperation, MultiPartParserError)):
        return 400
    return 500
