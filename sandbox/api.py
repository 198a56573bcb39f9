"""REST API of the fake Jumpseller, ``/sandbox/jumpseller/api/v1/...json`` (jumpseller-api.md §2).

Every endpoint: ``Authorization: Bearer <access_token>``; then the store's rate limit (§2.1); then the
endpoint's OAuth scope (§1.3). Single resources are wrapped (``{"order": {...}}``) and lists are arrays
of wrapped items; ``limit`` (default 50, max 100) and 1-based ``page``. Creates answer 200, as the OAS
does.

Error bodies are Jumpseller's ``{"message": "..."}`` (OAS schema ``NotFound``):

* 401 missing, unknown, expired or revoked token (``WWW-Authenticate: Bearer ... error="invalid_token"``);
* 403 the token lacks the endpoint's scope (``{"message": "Forbidden: ... requires the scope X"}`` and
  ``WWW-Authenticate: Bearer ... error="insufficient_scope", scope="X"``) — the reference does not
  give Jumpseller's body for this case, so it is this sandbox's choice;
* 404 ``{"message": "Not Found"}``; 400 a body that is not JSON; 422 ``{"message", "errors": {field:
  [..]}}`` for a body that is JSON but invalid; 429 ``{"message": "Too Many Requests"}``.

The ``Jumpseller-Per{Second,Minute}RateLimit-{Limit,Remaining}`` headers go on every authenticated answer.

[D] ``/store/info.json`` wrapper (§2.2): wrapped ``{"store": {...}}`` by default — every other resource
is wrapped and both clients found in the wild expect it — and flat (the OAS schema) for a store whose
``store_info_format`` is ``flat`` (control API), so the product's tolerance of both can be tested.
[D] ``document_type`` (§2.6 and Addendum): the OAS declares an integer, but its enum and every sample are
the strings "0 - credit note" / "1 - invoice". Which one the real API takes is unknown, so the sandbox
takes exactly one form, never both: ``SANDBOX_JUMPSELLER_DOCUMENT_TYPE_FORM`` (setting or environment
variable) ``string`` (the default: exactly those two strings) or ``integer`` (exactly the JSON numbers 0
and 1). The other form, and anything else, is a 422 ``{"message", "errors": {"document_type": [..]}}``;
answers carry the accepted form (the control API always shows the integer).
[D] Hooks (§2.5): the answer carries both ``application_id`` (AI example) and ``created_at`` (OAS).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as dtime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import ratelimit, services
from .http import BadBody, int_param, json_response, message, not_found, read_json, validation_error, wrapped
from .models import Customer, Hook, OAuthToken, Order, OrderDocument, OrderHistory, Store
from .oauth import active_token, bearer_token
from .orders import STATUS_FILTERS, status_enum_of

HOOK_EVENTS = {
    "order_updated",
    "order_pending_payment",
    "order_paid",
    "order_shipped",
    "order_canceled",
    "order_abandoned",
    "product_created",
    "product_updated",
    "product_deleted",
    "product_stock_updated",
    "customer_created",
    "customer_updated",
    "customer_deleted",
}
DATE_FILTERS = {"today", "yesterday", "last7days", "last30days", "last90days", "customDate"}
ORDER_STATUSES = {"abandoned", "canceled", "pending_payment", "paid"}  # /orders/status/{status}.json
DOCUMENT_TYPE_STRINGS = {"0 - credit note": 0, "1 - invoice": 1}  # OAS ``DocumentFields`` enum and samples
DOCUMENT_TYPE_FORMS = ("string", "integer")

Handler = Callable[..., HttpResponse]


def application_id() -> int:
    return int(getattr(settings, "SANDBOX_JUMPSELLER_APP_ID", 4242))


def app_code() -> str:
    return str(getattr(settings, "SANDBOX_JUMPSELLER_APP_CODE", "openfactura-jumpseller"))


def document_type_form() -> str:
    """The one ``document_type`` form this Jumpseller takes: ``SANDBOX_JUMPSELLER_DOCUMENT_TYPE_FORM``
    (setting, else environment variable), ``"string"`` by default, or ``"integer"``."""
    raw = getattr(settings, "SANDBOX_JUMPSELLER_DOCUMENT_TYPE_FORM", None)
    if raw is None:
        raw = os.environ.get("SANDBOX_JUMPSELLER_DOCUMENT_TYPE_FORM", "")
    form = str(raw).strip().lower() or "string"
    if form not in DOCUMENT_TYPE_FORMS:
        raise ImproperlyConfigured(
            f"SANDBOX_JUMPSELLER_DOCUMENT_TYPE_FORM must be string or integer, not {raw!r}"
        )
    return form


def endpoint(**handlers: tuple[str, Handler]) -> Callable[..., HttpResponse]:
    """A view dispatching on the method to ``(scope, handler)``, behind auth, rate limit and scope."""

    @csrf_exempt
    def view(request: HttpRequest, **kwargs) -> HttpResponse:
        if request.method not in handlers:
            response = message(405, "Method Not Allowed")
            response["Allow"] = ", ".join(handlers)
            return response
        scope, handler = handlers[request.method]
        raw = bearer_token(request)
        token = active_token(raw)
        if token is None:
            return _unauthorized(raw)
        verdict = ratelimit.hit(token.store)
        if not verdict.allowed:
            response = message(429, "Too Many Requests")
        elif scope not in token.scopes:
            response = message(403, f"Forbidden: this endpoint requires the scope {scope}")
            response["WWW-Authenticate"] = (
                f'Bearer realm="Jumpseller API", error="insufficient_scope", scope="{scope}"'
            )
        else:
            try:
                response = handler(request, store=token.store, token=token, **kwargs)
            except BadBody as exc:
                response = exc.response
            except services.SandboxError as exc:
                response = validation_error({exc.field: [exc.text]})
        for key, value in verdict.headers.items():
            response[key] = value
        return response

    return view


def _unauthorized(raw: str) -> JsonResponse:
    if not raw:
        text = "Unauthorized: missing access token"
    else:
        found = OAuthToken.objects.filter(access_token=raw).first()
        if found is None:
            text = "Unauthorized: invalid access token"
        elif found.revoked_at is not None:
            text = "Unauthorized: the access token was revoked"
        else:
            text = "Unauthorized: the access token expired"
    response = message(401, text)
    response["WWW-Authenticate"] = 'Bearer realm="Jumpseller API", error="invalid_token"'
    return response


@csrf_exempt
def api_not_found(request: HttpRequest, **kwargs) -> JsonResponse:
    return not_found()


def _page(request: HttpRequest, queryset: QuerySet) -> list:
    limit = int_param(request.GET.get("limit"), 50, maximum=100)
    page = int_param(request.GET.get("page"), 1)
    return list(queryset[(page - 1) * limit : page * limit])


def _order_or_none(store: Store, order_id: int) -> Order | None:
    return Order.objects.filter(store=store, order_id=order_id).first()


# --- Store --------------------------------------------------------------------------------------


def store_fields(store: Store) -> dict:
    """The OAS ``Store`` schema fields (jumpseller-api.md §2.2)."""
    return {
        "name": store.name,
        "code": store.code,
        "currency": store.currency,
        "country": store.country,
        "timezone": store.timezone,
        "email": services.store_contact_email(store),
        "hooks_token": store.hooks_token,
        "url": store.url,
        "logo": None,
        "weight_unit": "kg",
        "subscription_status": "active",
        "subscription_plan": "plus",
        "fb_pixel_id": None,
        "address": {
            "address": "Av. Providencia 1234",
            "city": "Santiago",
            "postal": None,
            "region": "Región Metropolitana de Santiago",
            "country": "Chile",
            "region_code": "RM",
            "country_code": "CL",
        },
        "whatsapp_phone": None,
        "mobile_app_version": None,
        "checkout_version": "standard",
    }


def _store_info(request: HttpRequest, *, store: Store, token: OAuthToken) -> JsonResponse:
    data = store_fields(store)
    wanted = [item.strip() for item in request.GET.get("fields", "").split(",") if item.strip()]
    if wanted:
        data = {key: data[key] for key in wanted if key in data}
    return json_response({"store": data} if store.store_info_format == Store.INFO_WRAPPED else data)


store_info = endpoint(GET=("read_store", _store_info))


# --- Orders -------------------------------------------------------------------------------------


def _order_json(row: Order, fields: list[str]) -> dict:
    payload = row.payload
    if fields:
        payload = {key: payload.get(key) for key in fields}
    return {"order": payload}


def _fields(request: HttpRequest) -> list[str]:
    return [item.strip() for item in request.GET.get("fields", "").split(",") if item.strip()]


def _status_filters(request: HttpRequest) -> list[str]:
    values = request.GET.getlist("status_filters[]") + request.GET.getlist("status_filters")
    statuses = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if item in STATUS_FILTERS or status_enum_of(item):
                statuses.append(status_enum_of(item) or item)
    return statuses


def _date_range(request: HttpRequest, store: Store) -> tuple[datetime | None, datetime | None]:
    """``dateFilter`` (and ``initialDate``/``finalDate`` for ``customDate``), days in the store's zone."""
    name = request.GET.get("dateFilter", "")
    if not name:
        return None, None
    if name not in DATE_FILTERS:
        raise BadBody(validation_error({"dateFilter": [f"must be one of {', '.join(sorted(DATE_FILTERS))}"]}))
    zone = ZoneInfo(store.timezone)
    today = timezone.now().astimezone(zone).date()

    def start(day):
        return datetime.combine(day, dtime.min, tzinfo=zone)

    if name == "today":
        return start(today), start(today + timedelta(days=1))
    if name == "yesterday":
        return start(today - timedelta(days=1)), start(today)
    if name.startswith("last"):
        days = int(name[4:-4])
        return start(today - timedelta(days=days - 1)), start(today + timedelta(days=1))
    bounds = []
    for key in ("initialDate", "finalDate"):
        value = request.GET.get(key, "")
        try:
            bounds.append(date.fromisoformat(value) if value else None)
        except ValueError:
            raise BadBody(validation_error({key: ["must be a date YYYY-MM-DD"]})) from None
    if bounds == [None, None]:
        raise BadBody(validation_error({"initialDate": ["is required with dateFilter=customDate"]}))
    return (
        start(bounds[0]) if bounds[0] else None,
        start(bounds[1] + timedelta(days=1)) if bounds[1] else None,
    )


def _filtered_orders(request: HttpRequest, store: Store) -> QuerySet:
    queryset = Order.objects.filter(store=store)
    statuses = _status_filters(request)
    if statuses:
        queryset = queryset.filter(status_enum__in=statuses)
    since, until = _date_range(request, store)
    if since:
        queryset = queryset.filter(created_at__gte=since)
    if until:
        queryset = queryset.filter(created_at__lt=until)
    return queryset


def _orders_list(request: HttpRequest, *, store: Store, token: OAuthToken) -> JsonResponse:
    """Newest first, like Jumpseller's admin."""
    rows = _page(request, _filtered_orders(request, store).order_by("-order_id"))
    return json_response([_order_json(row, _fields(request)) for row in rows])


def _orders_count(request: HttpRequest, *, store: Store, token: OAuthToken) -> JsonResponse:
    return json_response({"count": _filtered_orders(request, store).count()})


def _orders_by_status(request: HttpRequest, *, store: Store, token: OAuthToken, status: str) -> JsonResponse:
    if status not in ORDER_STATUSES:
        return not_found()
    rows = _page(request, Order.objects.filter(store=store, status_enum=status).order_by("-order_id"))
    return json_response([_order_json(row, _fields(request)) for row in rows])


def _orders_after(request: HttpRequest, *, store: Store, token: OAuthToken, order_id: int) -> JsonResponse:
    """Orders with an id greater than ``order_id``, oldest first (for reconciliation)."""
    queryset = _filtered_orders(request, store).filter(order_id__gt=order_id).order_by("order_id")
    return json_response([_order_json(row, _fields(request)) for row in _page(request, queryset)])


def _orders_search(request: HttpRequest, *, store: Store, token: OAuthToken) -> JsonResponse:
    query = request.GET.get("query", "").strip().lower()
    rows = _filtered_orders(request, store).order_by("-order_id")
    if query:
        matches = [
            row
            for row in rows
            if query == str(row.order_id)
            or query in str((row.payload.get("customer") or {}).get("email", "")).lower()
            or query in str((row.payload.get("customer") or {}).get("fullname", "")).lower()
        ]
    else:
        matches = list(rows)
    limit = int_param(request.GET.get("limit"), 50, maximum=100)
    page = int_param(request.GET.get("page"), 1)
    return json_response(
        [_order_json(row, _fields(request)) for row in matches[(page - 1) * limit : page * limit]]
    )


def _order_get(request: HttpRequest, *, store: Store, token: OAuthToken, order_id: int) -> JsonResponse:
    row = _order_or_none(store, order_id)
    return not_found() if row is None else json_response(_order_json(row, _fields(request)))


def _order_put(request: HttpRequest, *, store: Store, token: OAuthToken, order_id: int) -> JsonResponse:
    row = _order_or_none(store, order_id)
    if row is None:
        return not_found()
    changes = wrapped(read_json(request), "order")
    row = services.order_update_from_api(store=store, order=row, changes=changes)
    return json_response({"order": row.payload})


orders_list = endpoint(GET=("read_orders", _orders_list))
orders_count = endpoint(GET=("read_orders", _orders_count))
orders_by_status = endpoint(GET=("read_orders", _orders_by_status))
orders_after = endpoint(GET=("read_orders", _orders_after))
orders_search = endpoint(GET=("read_orders", _orders_search))
order_detail = endpoint(GET=("read_orders", _order_get), PUT=("write_orders", _order_put))


# --- Customers ----------------------------------------------------------------------------------
# [GAP] jumpseller-api.md lists the scopes (§1.3) but not this endpoint: it follows the OAS
# ``CustomerFields`` schema, wrapped as every single resource is (``{"customer": {...}}``), scope
# ``read_customers``.


def _customer_get(request: HttpRequest, *, store: Store, token: OAuthToken, customer_id: int) -> JsonResponse:
    row = Customer.objects.filter(store=store, customer_id=customer_id).first()
    return not_found() if row is None else json_response({"customer": services.customer_json(row)})


customer_detail = endpoint(GET=("read_customers", _customer_get))


# --- Documents ----------------------------------------------------------------------------------


def document_json(document: OrderDocument, order_id: int) -> dict:
    document_type: int | str = document.document_type
    if document_type_form() == "string":
        document_type = next(
            label for label, number in DOCUMENT_TYPE_STRINGS.items() if number == document_type
        )
    return {
        "document_type": document_type,
        "external_id": document.external_id or None,
        "public_id": document.public_id,
        "url": document.url or None,
        "order_id": order_id,
        "app_code": document.app_code or None,
    }


def _document_fields(data: dict, *, partial: bool) -> dict:
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    if "document_type" in data or not partial:
        raw = data.get("document_type")
        if document_type_form() == "string":
            number = DOCUMENT_TYPE_STRINGS.get(raw) if isinstance(raw, str) else None
            issue = 'must be "0 - credit note" or "1 - invoice"'
        else:
            number = raw if type(raw) is int and raw in (0, 1) else None
            issue = "must be 0 (credit note) or 1 (invoice)"
        if number is None:
            errors["document_type"] = [issue]
        else:
            clean["document_type"] = number
    if "public_id" in data or not partial:
        value = data.get("public_id")
        if value in (None, "") or isinstance(value, (dict, list, bool)):
            errors["public_id"] = ["can't be blank"]
        else:
            clean["public_id"] = str(value)
    if "external_id" in data:
        value = data["external_id"]
        clean["external_id"] = "" if value is None else str(value)
    if "url" in data:
        value = data["url"]
        if value not in (None, ""):
            parts = urlsplit(str(value))
            if parts.scheme not in {"http", "https"} or not parts.netloc:
                errors["url"] = ["is not a valid URL"]
        clean["url"] = value or ""
    if errors:
        raise BadBody(validation_error(errors))
    return clean


def _documents_list(request: HttpRequest, *, store: Store, token: OAuthToken, order_id: int) -> JsonResponse:
    row = _order_or_none(store, order_id)
    if row is None:
        return not_found()
    documents = _page(request, row.documents.order_by("id"))
    return json_response([{"document": document_json(doc, order_id)} for doc in documents])


def _documents_create(
    request: HttpRequest, *, store: Store, token: OAuthToken, order_id: int
) -> JsonResponse:
    row = _order_or_none(store, order_id)
    if row is None:
        return not_found()
    fields = _document_fields(wrapped(read_json(request), "document"), partial=False)
    try:
        with transaction.atomic():
            document = OrderDocument.objects.create(store=store, order=row, app_code=app_code(), **fields)
    except IntegrityError:
        return validation_error({"public_id": ["has already been taken"]})
    return json_response({"document": document_json(document, order_id)})


def _document_get(row: Order | None, public_id: str) -> OrderDocument | None:
    return None if row is None else row.documents.filter(public_id=public_id).first()


def _document_put(
    request: HttpRequest, *, store: Store, token: OAuthToken, order_id: int, public_id: str
) -> JsonResponse:
    document = _document_get(_order_or_none(store, order_id), public_id)
    if document is None:
        return not_found()
    fields = _document_fields(wrapped(read_json(request), "document"), partial=True)
    for key, value in fields.items():
        setattr(document, key, value)
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError:
        return validation_error({"public_id": ["has already been taken"]})
    return json_response({"document": document_json(document, order_id)})


def _document_delete(
    request: HttpRequest, *, store: Store, token: OAuthToken, order_id: int, public_id: str
) -> JsonResponse:
    document = _document_get(_order_or_none(store, order_id), public_id)
    if document is None:
        return not_found()
    document.delete()
    return json_response("Document deleted.")


def _store_documents(request: HttpRequest, *, store: Store, token: OAuthToken) -> JsonResponse:
    documents = _page(
        request, OrderDocument.objects.filter(store=store).select_related("order").order_by("id")
    )
    return json_response([{"document": document_json(doc, doc.order.order_id)} for doc in documents])


order_documents = endpoint(GET=("read_orders", _documents_list), POST=("write_orders", _documents_create))
order_document = endpoint(PUT=("write_orders", _document_put), DELETE=("write_orders", _document_delete))
store_documents = endpoint(GET=("read_orders", _store_documents))


# --- History ------------------------------------------------------------------------------------


def history_json(entry: OrderHistory) -> dict:
    return {
        "id": entry.id,
        "message": entry.message,
        "log": entry.log,
        "created_at": entry.created_at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def _history_list(request: HttpRequest, *, store: Store, token: OAuthToken, order_id: int) -> JsonResponse:
    row = _order_or_none(store, order_id)
    if row is None:
        return not_found()
    return json_response(
        [{"order_history": history_json(e)} for e in _page(request, row.history.order_by("id"))]
    )


def _history_create(request: HttpRequest, *, store: Store, token: OAuthToken, order_id: int) -> JsonResponse:
    row = _order_or_none(store, order_id)
    if row is None:
        return not_found()
    data = wrapped(read_json(request), "order_history")
    text = data.get("message")
    if not isinstance(text, str) or not text.strip():
        return validation_error({"message": ["can't be blank"]})
    log = data.get("log")
    if log is not None and not isinstance(log, dict):
        return validation_error({"log": ["must be an object"]})
    entry = OrderHistory.objects.create(order=row, message=text, log=log)
    return json_response({"order_history": history_json(entry)})


order_history = endpoint(GET=("read_orders", _history_list), POST=("write_orders", _history_create))


# --- Hooks --------------------------------------------------------------------------------------


def hook_json(hook: Hook) -> dict:
    return {
        "id": hook.id,
        "name": hook.name or None,
        "event": hook.event,
        "url": hook.url,
        "application_id": hook.application_id,
        "created_at": hook.created_at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def _hook_fields(data: dict, *, partial: bool) -> dict:
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    if "event" in data or not partial:
        if data.get("event") not in HOOK_EVENTS:
            errors["event"] = ["is not included in the list"]
        else:
            clean["event"] = data["event"]
    if "url" in data or not partial:
        value = data.get("url")
        parts = urlsplit(value) if isinstance(value, str) else None
        if parts is None or parts.scheme not in {"http", "https"} or not parts.netloc:
            errors["url"] = ["is not a valid URL"]
        else:
            clean["url"] = value
    if "name" in data:
        clean["name"] = "" if data["name"] is None else str(data["name"])
    if errors:
        raise BadBody(validation_error(errors))
    return clean


def _hooks_list(request: HttpRequest, *, store: Store, token: OAuthToken) -> JsonResponse:
    return json_response([{"hook": hook_json(h)} for h in _page(request, Hook.objects.filter(store=store))])


def _hooks_create(request: HttpRequest, *, store: Store, token: OAuthToken) -> JsonResponse:
    fields = _hook_fields(wrapped(read_json(request), "hook"), partial=False)
    hook = Hook.objects.create(store=store, application_id=application_id(), **fields)
    return json_response({"hook": hook_json(hook)})


def _hook_get(request: HttpRequest, *, store: Store, token: OAuthToken, hook_id: int) -> JsonResponse:
    hook = Hook.objects.filter(store=store, pk=hook_id).first()
    return not_found() if hook is None else json_response({"hook": hook_json(hook)})


def _hook_put(request: HttpRequest, *, store: Store, token: OAuthToken, hook_id: int) -> JsonResponse:
    hook = Hook.objects.filter(store=store, pk=hook_id).first()
    if hook is None:
        return not_found()
    for key, value in _hook_fields(wrapped(read_json(request), "hook"), partial=True).items():
        setattr(hook, key, value)
    hook.save()
    return json_response({"hook": hook_json(hook)})


def _hook_delete(request: HttpRequest, *, store: Store, token: OAuthToken, hook_id: int) -> JsonResponse:
    deleted, _ = Hook.objects.filter(store=store, pk=hook_id).delete()
    return json_response("Hook deleted.") if deleted else not_found()


hooks = endpoint(GET=("read_hooks", _hooks_list), POST=("write_hooks", _hooks_create))
hook_detail = endpoint(
    GET=("read_hooks", _hook_get), PUT=("write_hooks", _hook_put), DELETE=("write_hooks", _hook_delete)
)


# --- Apps ---------------------------------------------------------------------------------------


def _install_status(request: HttpRequest, *, store: Store, token: OAuthToken, code: str) -> JsonResponse:
    """OAS ``PaidAppInstallStatus``: installed while the store holds a token that is not revoked."""
    installed = OAuthToken.objects.filter(store=store, revoked_at__isnull=True).exists()
    return json_response(
        {
            "app_code": code,
            "store_id": store.id,
            "installed": installed,
            "subscription_plan": None,
            "subscription_status": None,
            "code": store.code,
        }
    )


install_status = endpoint(GET=("read_apps", _install_status))
