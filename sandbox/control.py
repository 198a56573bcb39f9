"""Control API of the sandbox (``/sandbox/jumpseller/stores...`` and ``/sandbox/mail``): JSON, no auth.

Pinned (acceptance checks use these exactly):

* ``POST /sandbox/jumpseller/stores {"code", "name"}`` → 201 ``{"store": {"code", "hooks_token", ...}}``
  (an existing code is returned as it is, also 201, so that scripts can be re-run);
* ``POST /sandbox/jumpseller/stores/{code}/orders {"order": {...}}`` → 201 ``{"order": {...}}``;
* ``POST .../orders/{id}/pay?deliveries=N`` → 200 ``{"deliveries": [{"url", "status", ...}]}``;
* ``POST .../orders/{id}/cancel?deliveries=N`` → 200 ``{"deliveries": [...]}``;
* ``GET .../orders/{id}/documents`` → ``[{"document_type", "external_id", "public_id", "url",
  "order_id", "app_code", "created_at"}]``, the documents the product attached;
* ``GET /sandbox/mail`` → ``[{"to", "subject", "attachments", "links", "sent_at"}]``.

Extra: ``GET /sandbox/jumpseller/stores``, ``GET|PATCH .../stores/{code}`` (options
``store_info_format`` wrapped|flat, ``rate_limit_per_second``, ``rate_limit_per_minute``, ``name``,
``email``), ``POST .../reset_hooks_token``, ``POST .../revoke`` (revokes every token: the app is
disconnected), ``POST .../expire_tokens`` (access tokens expire now), ``GET .../orders``,
``GET .../orders/{id}``, ``GET .../orders/{id}/history``, ``GET .../hooks``, ``GET .../deliveries``
(``?order_id=``, ``?event=``), ``POST /sandbox/jumpseller/deliver_retries``, ``GET|POST .../customers``
(``{"customer": {"id", "email", "name", "customer_categories": ["Mayoristas"]}}``: customers with
categories, read by the API's ``GET /customers/{id}.json``).
"""

from __future__ import annotations

from email.utils import parseaddr

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import services, webhooks
from .api import hook_json, store_fields
from .http import BadBody, int_param, json_response, message, not_found, read_json, validation_error
from .mail import email_json
from .models import Customer, Email, Hook, Order, Store, WebhookDelivery

# Upper bound of ``?deliveries=N``: above the 64 concurrent deliveries the receiver is measured with.
MAX_DELIVERIES = 128


def addresses(recipients: list[str]) -> set[str]:
    """``["Ana <ana@x.cl>", "b@x.cl"]`` → ``{"ana@x.cl", "b@x.cl"}`` (lowercase)."""
    return {parseaddr(item)[1].lower() or item.strip().lower() for item in recipients}


def control(*methods: str):
    """JSON control view: method check, store lookup (``code``), JSON errors."""

    def decorate(func):
        @csrf_exempt
        def view(request: HttpRequest, **kwargs) -> JsonResponse:
            if request.method not in methods:
                response = message(405, "Method Not Allowed")
                response["Allow"] = ", ".join(methods)
                return response
            if "code" in kwargs:
                store = Store.objects.filter(code=kwargs.pop("code")).first()
                if store is None:
                    return not_found()
                kwargs["store"] = store
            try:
                return func(request, **kwargs)
            except BadBody as exc:
                return exc.response
            except services.SandboxError as exc:
                return validation_error({exc.field: [exc.text]})

        view.__name__ = func.__name__
        view.__doc__ = func.__doc__
        return view

    return decorate


def store_json(store: Store) -> dict:
    info = store_fields(store)
    return {
        "code": store.code,
        "name": store.name,
        "hooks_token": store.hooks_token,
        "url": store.url,
        "currency": info["currency"],
        "country": info["country"],
        "timezone": info["timezone"],
        "email": info["email"],
        "store_info_format": store.store_info_format,
        "rate_limit_per_second": store.rate_limit_per_second,
        "rate_limit_per_minute": store.rate_limit_per_minute,
        "created_at": store.created_at.isoformat(),
    }


def delivery_json(row: WebhookDelivery) -> dict:
    return {
        "url": row.url,
        "status": row.status,
        "event": row.event,
        "order_id": row.order_id,
        "attempt": row.attempt,
        "error": row.error,
        "duration_ms": row.duration_ms,
        "response": row.response_body,
        "sent_at": row.created_at.isoformat(),
        "next_retry_at": row.next_retry_at.isoformat() if row.next_retry_at else None,
    }


@control("GET", "POST")
def stores(request: HttpRequest) -> JsonResponse:
    if request.method == "GET":
        return json_response([{"store": store_json(store)} for store in Store.objects.all()])
    data = read_json(request)
    options = {key: value for key, value in data.items() if key not in {"code", "name"}}
    store, _ = services.store_ensure(code=data.get("code"), name=str(data.get("name") or ""), **options)
    return json_response({"store": store_json(store)}, status=201)


@control("GET", "PATCH")
def store_detail(request: HttpRequest, *, store: Store) -> JsonResponse:
    if request.method == "PATCH":
        services.store_update(store=store, options=read_json(request))
    return json_response({"store": store_json(store)})


@control("POST")
def store_reset_hooks_token(request: HttpRequest, *, store: Store) -> JsonResponse:
    return json_response({"store": store_json(services.store_reset_hooks_token(store=store))})


@control("POST")
def store_revoke(request: HttpRequest, *, store: Store) -> JsonResponse:
    return json_response({"revoked": services.store_revoke_tokens(store=store)})


@control("POST")
def store_expire_tokens(request: HttpRequest, *, store: Store) -> JsonResponse:
    return json_response({"expired": services.store_expire_tokens(store=store)})


@control("GET")
def store_hooks(request: HttpRequest, *, store: Store) -> JsonResponse:
    return json_response([{"hook": hook_json(hook)} for hook in Hook.objects.filter(store=store)])


@control("GET", "POST")
def store_orders(request: HttpRequest, *, store: Store) -> JsonResponse:
    if request.method == "GET":
        return json_response([{"order": row.payload} for row in Order.objects.filter(store=store)])
    data = read_json(request)
    order = data["order"] if isinstance(data.get("order"), dict) else data
    row = services.order_create(store=store, order=order)
    return json_response({"order": row.payload}, status=201)


@control("GET", "POST")
def store_customers(request: HttpRequest, *, store: Store) -> JsonResponse:
    """``POST {"customer": {"id", "email", "name", "customer_categories": ["Mayoristas"]}}`` → 201 (an
    existing id is replaced, so scripts can be re-run); ``GET`` lists them, as the API shows them."""
    if request.method == "GET":
        rows = Customer.objects.filter(store=store).prefetch_related("categories")
        return json_response([{"customer": services.customer_json(row)} for row in rows])
    data = read_json(request)
    customer = data["customer"] if isinstance(data.get("customer"), dict) else data
    row = services.customer_create(store=store, customer=customer)
    return json_response({"customer": services.customer_json(row)}, status=201)


def _order(store: Store, order_id: int) -> Order | None:
    return Order.objects.filter(store=store, order_id=order_id).first()


@control("GET")
def store_order(request: HttpRequest, *, store: Store, order_id: int) -> JsonResponse:
    row = _order(store, order_id)
    return not_found() if row is None else json_response({"order": row.payload})


def _set_status(request: HttpRequest, store: Store, order_id: int, status: str) -> JsonResponse:
    row = _order(store, order_id)
    if row is None:
        return not_found()
    times = int_param(request.GET.get("deliveries"), 1, maximum=MAX_DELIVERIES)
    rows = services.order_set_status(store=store, order=row, status=status, times=times)
    return json_response({"deliveries": [delivery_json(item) for item in rows], "order": row.payload})


@control("POST")
def order_pay(request: HttpRequest, *, store: Store, order_id: int) -> JsonResponse:
    return _set_status(request, store, order_id, "paid")


@control("POST")
def order_cancel(request: HttpRequest, *, store: Store, order_id: int) -> JsonResponse:
    return _set_status(request, store, order_id, "canceled")


@control("GET")
def order_documents(request: HttpRequest, *, store: Store, order_id: int) -> JsonResponse:
    row = _order(store, order_id)
    if row is None:
        return not_found()
    return json_response(
        [
            {
                "document_type": doc.document_type,
                "external_id": doc.external_id or None,
                "public_id": doc.public_id,
                "url": doc.url or None,
                "order_id": row.order_id,
                "app_code": doc.app_code or None,
                "created_at": doc.created_at.isoformat(),
            }
            for doc in row.documents.order_by("id")
        ]
    )


@control("GET")
def order_history(request: HttpRequest, *, store: Store, order_id: int) -> JsonResponse:
    row = _order(store, order_id)
    if row is None:
        return not_found()
    return json_response(
        [
            {"message": entry.message, "log": entry.log, "created_at": entry.created_at.isoformat()}
            for entry in row.history.order_by("id")
        ]
    )


@control("GET")
def store_deliveries(request: HttpRequest, *, store: Store) -> JsonResponse:
    rows = WebhookDelivery.objects.filter(store=store).order_by("id")
    if request.GET.get("order_id"):
        rows = rows.filter(order_id=int_param(request.GET["order_id"], 0, minimum=0))
    if request.GET.get("event"):
        rows = rows.filter(event=request.GET["event"])
    return json_response([delivery_json(row) for row in rows])


@control("POST")
def deliver_retries(request: HttpRequest) -> JsonResponse:
    """Run the webhook retries that are due now (for runs without the retry thread)."""
    before = WebhookDelivery.objects.count()
    webhooks.process_due_retries()
    return json_response({"attempts": WebhookDelivery.objects.count() - before})


@control("GET")
def mail_list(request: HttpRequest) -> JsonResponse:
    """Every email the product sent, oldest first; ``?to=`` keeps those addressed to one recipient."""
    emails = Email.objects.prefetch_related("attachments").order_by("id")
    wanted = request.GET.get("to", "").strip().lower()
    items = [email_json(email) for email in emails if not wanted or wanted in addresses(email.to)]
    return json_response(items)
