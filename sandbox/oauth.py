"""OAuth 2 of the fake Jumpseller (``/sandbox/jumpseller/accounts/oauth/...``), jumpseller-api.md §1.2.

Jumpseller's accounts server looks like Ruby Doorkeeper, so errors follow Doorkeeper/RFC 6749:

* authorize: an unknown ``client_id`` or an invalid ``redirect_uri`` is shown on the page (never
  redirected); other errors go back to ``redirect_uri`` with ``error`` (``unsupported_response_type``,
  ``invalid_scope``, ``access_denied`` when the merchant refuses) and ``state``;
* token: ``400 {"error": "invalid_request" | "unsupported_grant_type" | "invalid_grant", ...}`` and
  ``401 {"error": "invalid_client", ...}``; success ``{"access_token", "token_type": "bearer",
  "expires_in": 3600, "refresh_token", "created_at", "scope"}``.

Choices where the reference is silent ([GAP] §1.2): codes are single-use and live 10 minutes; refresh
tokens rotate (each refresh returns a new one and the old one answers ``invalid_grant``) and do not
expire; the previous access token stays valid until it expires. A store that does not exist is refused
on the form. The form is exempt from CSRF so that a plain HTTP client can submit it; the product's
``state`` protects the flow.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from . import services
from .http import json_response
from .models import OAuthGrant, OAuthToken, Store

OOB = "urn:ietf:wg:oauth:2.0:oob"
DEFAULT_SCOPE = "read_store read_orders write_orders read_hooks write_hooks"

# jumpseller-api.md §1.3 (OAS components.securitySchemes.OAuth2 scopes), with Spanish labels.
SCOPES = {
    "read_products": "ver productos",
    "write_products": "modificar productos",
    "read_categories": "ver categorías",
    "write_categories": "modificar categorías",
    "read_custom_fields": "ver campos personalizados",
    "write_custom_fields": "modificar campos personalizados",
    "write_reviews": "modificar reseñas",
    "read_orders": "ver pedidos",
    "write_orders": "modificar pedidos y adjuntarles documentos",
    "read_fulfillments": "ver despachos",
    "write_fulfillments": "modificar despachos",
    "read_customers": "ver clientes",
    "write_customers": "modificar clientes",
    "read_customer_categories": "ver categorías de clientes",
    "write_customer_categories": "modificar categorías de clientes",
    "read_store": "ver la información de la tienda",
    "write_store": "modificar la tienda",
    "read_settings": "ver la configuración",
    "write_settings": "modificar la configuración",
    "read_checkout_custom_fields": "ver campos del checkout",
    "write_checkout_custom_fields": "modificar campos del checkout",
    "read_countries": "ver países",
    "write_countries": "modificar países",
    "read_shipping_methods": "ver métodos de despacho",
    "write_shipping_methods": "modificar métodos de despacho",
    "read_payment_methods": "ver medios de pago",
    "write_payment_methods": "modificar medios de pago",
    "read_hooks": "ver webhooks",
    "write_hooks": "crear y borrar webhooks",
    "read_promotions": "ver promociones",
    "write_promotions": "modificar promociones",
    "read_taxes": "ver impuestos",
    "write_taxes": "modificar impuestos",
    "read_pages": "ver páginas",
    "write_pages": "modificar páginas",
    "read_jsapps": "ver apps JavaScript",
    "write_jsapps": "modificar apps JavaScript",
    "read_apps": "ver apps",
    "read_locations": "ver bodegas",
    "write_locations": "modificar bodegas",
    "read_transaction_ledgers": "ver movimientos",
    "write_store_setup": "crear tiendas",
}

ERRORS = {
    "invalid_request": (
        "The request is missing a required parameter, includes an unsupported parameter value, "
        "or is otherwise malformed."
    ),
    "invalid_client": (
        "Client authentication failed due to unknown client, no client authentication included, "
        "or unsupported authentication method."
    ),
    "invalid_grant": (
        "The provided authorization grant is invalid, expired, revoked, does not match the redirection "
        "URI used in the authorization request, or was issued to another client."
    ),
    "unsupported_grant_type": "The authorization grant type is not supported by the authorization server.",
    "unsupported_response_type": "The authorization server does not support this response type.",
    "invalid_scope": "The requested scope is invalid, unknown, or malformed.",
    "access_denied": "The resource owner or authorization server denied the request.",
    "invalid_redirect_uri": "The requested redirect uri is malformed or doesn't match client redirect URI.",
    "invalid_token": "The access token is invalid",
}


def _client_ok(client_id: str, client_secret: str | None = None) -> bool:
    if not hmac.compare_digest(client_id.encode(), settings.JUMPSELLER_CLIENT_ID.encode()):
        return False
    if client_secret is None:
        return True
    return hmac.compare_digest(client_secret.encode(), settings.JUMPSELLER_CLIENT_SECRET.encode())


def _redirect_uri_ok(uri: str) -> bool:
    allowed = getattr(settings, "SANDBOX_JUMPSELLER_REDIRECT_URIS", None)
    if allowed:
        return uri in allowed
    if uri == OOB:
        return True
    parts = urlsplit(uri)
    return parts.scheme in {"http", "https"} and bool(parts.netloc) and not parts.fragment


def _redirect_with(redirect_uri: str, params: dict) -> HttpResponseRedirect:
    params = {key: value for key, value in params.items() if value not in (None, "")}
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return HttpResponseRedirect(f"{redirect_uri}{separator}{urlencode(params)}")


def _error_page(request: HttpRequest, error: str, status: int) -> HttpResponse:
    return render(
        request,
        "sandbox/oauth_error.html",
        {"error": error, "description": ERRORS[error]},
        status=status,
    )


@never_cache
@csrf_exempt
def authorize(request: HttpRequest) -> HttpResponse:
    """GET: the consent form (field ``store``, button "Autorizar"). POST: the merchant's decision."""
    if request.method not in {"GET", "POST"}:
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    params = request.POST if request.method == "POST" else request.GET
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    state = params.get("state", "")
    if not client_id or not _client_ok(client_id):
        return _error_page(request, "invalid_client", 401)
    if not redirect_uri or not _redirect_uri_ok(redirect_uri):
        return _error_page(request, "invalid_redirect_uri", 400)

    def back(error: str) -> HttpResponse:
        if redirect_uri == OOB:
            return _error_page(request, error, 400)
        return _redirect_with(
            redirect_uri, {"error": error, "error_description": ERRORS[error], "state": state}
        )

    if params.get("response_type") != "code":
        return back("unsupported_response_type")
    scope = " ".join(params.get("scope", "").replace("+", " ").split()) or DEFAULT_SCOPE
    if any(item not in SCOPES for item in scope.split()):
        return back("invalid_scope")

    store_code = (params.get("store") or ("" if request.method == "POST" else "demo")).strip().lower()
    context = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "scope": scope,
        "scopes": [(item, SCOPES[item]) for item in scope.split()],
        "store_code": store_code or "demo",
        "stores": Store.objects.order_by("code").values_list("code", flat=True)[:50],
    }
    if request.method == "GET":
        return render(request, "sandbox/authorize.html", context)
    if params.get("decision", "allow") == "deny":
        return back("access_denied")
    store = Store.objects.filter(code=store_code).first()
    if store is None:
        context["error"] = f"No existe la tienda «{store_code}» en el sandbox."
        return render(request, "sandbox/authorize.html", context, status=400)
    grant = OAuthGrant.objects.create(
        store=store, client_id=client_id, redirect_uri=redirect_uri, scope=scope
    )
    if redirect_uri == OOB:
        return render(request, "sandbox/oauth_oob.html", {"code": grant.code})
    return _redirect_with(redirect_uri, {"code": grant.code, "state": state})


def _token_error(error: str, status: int = 400) -> JsonResponse:
    response = json_response({"error": error, "error_description": ERRORS[error]}, status=status)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="Doorkeeper", error="invalid_client"'
    return response


def _token_params(request: HttpRequest) -> dict:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
            return {key: str(value) for key, value in data.items()} if isinstance(data, dict) else {}
        except ValueError:
            return {}
    return request.POST.dict()


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def token_body(token: OAuthToken) -> dict:
    return {
        "access_token": token.access_token,
        "token_type": "bearer",
        "expires_in": token.expires_in,
        "refresh_token": token.refresh_token,
        "created_at": int(token.created_at.timestamp()),
        "scope": token.scope,
    }


@csrf_exempt
def token(request: HttpRequest) -> JsonResponse:
    """``POST /oauth/token``: ``authorization_code`` and ``refresh_token`` grants (form, multipart, JSON)."""
    if request.method != "POST":
        response = _token_error("invalid_request")
        response.status_code = 405
        response["Allow"] = "POST"
        return response
    params = _token_params(request)
    basic = _basic_credentials(request)
    client_id, client_secret = basic or (params.get("client_id", ""), params.get("client_secret", ""))
    grant_type = params.get("grant_type", "")
    if not grant_type:
        return _token_error("invalid_request")
    if grant_type not in {"authorization_code", "refresh_token"}:
        return _token_error("unsupported_grant_type")
    if not client_id or not client_secret or not _client_ok(client_id, client_secret):
        return _token_error("invalid_client", 401)
    now = timezone.now()

    if grant_type == "authorization_code":
        code = params.get("code", "")
        if not code or not params.get("redirect_uri"):
            return _token_error("invalid_request")
        grant = OAuthGrant.objects.filter(code=code, client_id=client_id).select_related("store").first()
        if grant is None or grant.expired or grant.redirect_uri != params["redirect_uri"]:
            return _token_error("invalid_grant")
        # Single use: only the request that flips used_at gets a token.
        if not OAuthGrant.objects.filter(pk=grant.pk, used_at__isnull=True).update(used_at=now):
            return _token_error("invalid_grant")
        issued = services.token_issue(store=grant.store, client_id=client_id, scope=grant.scope)
    else:
        refresh = params.get("refresh_token", "")
        if not refresh:
            return _token_error("invalid_request")
        old = (
            OAuthToken.objects.filter(refresh_token=refresh, client_id=client_id)
            .select_related("store")
            .first()
        )
        if old is None:
            return _token_error("invalid_grant")
        # Rotation: the refresh token works once; concurrent refreshes race on this conditional update.
        rotated = OAuthToken.objects.filter(
            pk=old.pk, refreshed_at__isnull=True, revoked_at__isnull=True
        ).update(refreshed_at=now)
        if not rotated:
            return _token_error("invalid_grant")
        issued = services.token_issue(store=old.store, client_id=client_id, scope=old.scope)
    response = json_response(token_body(issued))
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def bearer_token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.GET.get("access_token", "")


def active_token(value: str) -> OAuthToken | None:
    """The token row for ``value`` when it is neither expired nor revoked."""
    if not value:
        return None
    found = OAuthToken.objects.filter(access_token=value).select_related("store").first()
    if found is None or found.revoked_at is not None or found.expired:
        return None
    return found


@never_cache
def token_info(request: HttpRequest) -> JsonResponse:
    """``GET /oauth/token/info`` (Doorkeeper's shape)."""
    found = active_token(bearer_token(request))
    if found is None:
        response = json_response(
            {"error": "invalid_token", "error_description": ERRORS["invalid_token"], "state": "unauthorized"},
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="Doorkeeper", error="invalid_token"'
        return response
    remaining = int((found.expires_at - timezone.now()).total_seconds())
    return json_response(
        {
            "resource_owner_id": found.store_id,
            "scope": found.scope.split(),
            "expires_in": max(0, remaining),
            "application": {"uid": found.client_id},
            "created_at": int(found.created_at.timestamp()),
        }
    )


@csrf_exempt
def revoke(request: HttpRequest) -> JsonResponse:
    """``POST /oauth/revoke`` (RFC 7009): revokes the token pair holding ``token``; always 200."""
    if request.method != "POST":
        return _token_error("invalid_request")
    params = _token_params(request)
    basic = _basic_credentials(request)
    client_id, client_secret = basic or (params.get("client_id", ""), params.get("client_secret", ""))
    if not client_id or not _client_ok(client_id, client_secret):
        return _token_error("invalid_client", 401)
    value = params.get("token", "")
    if value:
        OAuthToken.objects.filter(Q(access_token=value) | Q(refresh_token=value), client_id=client_id).update(
            revoked_at=timezone.now()
        )
    return json_response({})
