"""Sandbox pages for people (Spanish): stores, orders, webhook deliveries, emails, OpenFactura documents.

Every change is a POST form with CSRF that calls one service and redirects back with a message.
"""

from __future__ import annotations

import json
import logging

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from . import services, webhooks
from .control import MAX_DELIVERIES, addresses
from .forms import JsonOrderForm, LineFormSet, OrderForm, StoreForm, lines_from
from .http import int_param
from .mail import links_in
from .models import Email, EmailAttachment, Hook, OAuthToken, Order, Store, WebhookDelivery
from .orders import EXAMPLES, example_names, load_example, parse_jumpseller_time, status_enum_of

logger = logging.getLogger(__name__)

OPENFACTURA_DOCUMENTS_PATH = "/sandbox/openfactura/documents"
DTE_NAMES = {
    33: "Factura electrónica",
    34: "Factura exenta",
    39: "Boleta electrónica",
    41: "Boleta exenta",
    56: "Nota de débito",
    61: "Nota de crédito",
}
STATUS_PILLS = {"paid": "ok", "pending_payment": "warn", "canceled": "bad", "abandoned": ""}
STATUS_ES = {
    "paid": "Pagado",
    "pending_payment": "Pendiente de pago",
    "canceled": "Anulado",
    "abandoned": "Abandonado",
}


def status_es(status: object) -> str:
    """An order status in any of Jumpseller's spellings ("Pending Payment", "paid") → Spanish."""
    enum = status_enum_of(status)
    return STATUS_ES.get(enum, str(status or "")) if enum else str(status or "")


def openfactura_documents(request: HttpRequest) -> list[dict] | None:
    """The documents the fake OpenFactura accepted, read through its own ``GET .../documents`` view.

    The view is resolved and called in-process (no HTTP to ourselves, no knowledge of its models);
    None when the fake OpenFactura does not offer it or fails.
    """
    try:
        match = resolve(OPENFACTURA_DOCUMENTS_PATH)
    except Resolver404:
        return None
    sub = HttpRequest()
    sub.method = "GET"
    sub.path = sub.path_info = OPENFACTURA_DOCUMENTS_PATH
    sub.META = {**request.META, "REQUEST_METHOD": "GET", "QUERY_STRING": "", "PATH_INFO": sub.path}
    sub.COOKIES = {}
    try:
        response = match.func(sub, *match.args, **match.kwargs)
        if getattr(response, "status_code", 500) != 200:
            return None
        if hasattr(response, "render"):
            response.render()
        data = json.loads(response.content)
    except Exception:
        logger.exception("sandbox: could not read the fake OpenFactura's documents")
        return None
    if isinstance(data, dict):
        data = data.get("documents", [])
    documents = []
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict):
            continue
        tipo = item.get("tipo")
        documents.append(
            {
                **item,
                "tipo_nombre": DTE_NAMES.get(int(tipo)) if str(tipo).isdigit() else None,
                "received": parse_jumpseller_time(item.get("received_at")),
                "pdf_url": f"{OPENFACTURA_DOCUMENTS_PATH}/{item.get('token')}.pdf"
                if item.get("token")
                else None,
            }
        )
    documents.sort(key=lambda doc: str(doc.get("received_at") or ""), reverse=True)
    return documents


def _order_rows(store: Store) -> list[dict]:
    rows = []
    orders = Order.objects.filter(store=store).prefetch_related("documents").order_by("-order_id")[:100]
    for order in orders:
        payload = order.payload
        customer = payload.get("customer") or {}
        billing = payload.get("billing_information") or {}
        rows.append(
            {
                "id": order.order_id,
                "created_at": order.created_at,
                "customer": customer.get("fullname") or customer.get("email") or "",
                "email": customer.get("email") or "",
                "company": billing.get("company_name"),
                "total": payload.get("total"),
                "currency": payload.get("currency"),
                "status": order.status_enum,
                "status_es": STATUS_ES.get(order.status_enum, order.status_enum),
                "pill": STATUS_PILLS.get(order.status_enum, ""),
                "documents": list(order.documents.all()),
            }
        )
    return rows


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    webhooks.ensure_retry_worker()  # resumes retries left pending by a previous run
    stores = Store.objects.annotate(order_count=Count("orders", distinct=True)).order_by("code")
    return render(
        request,
        "sandbox/index.html",
        {
            "stores": stores,
            "form": StoreForm(),
            "email_count": Email.objects.count(),
            "demo": stores.filter(code="demo").exists(),
        },
    )


@require_POST
def store_create(request: HttpRequest) -> HttpResponse:
    form = StoreForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Revisa el código y el nombre de la tienda.")
        return redirect("sandbox_index")
    store, created = services.store_ensure(code=form.cleaned_data["code"], name=form.cleaned_data["name"])
    messages.success(request, f"Tienda «{store.code}» {'creada' if created else 'actualizada'}.")
    return redirect("sandbox_store_page", code=store.code)


def _store_context(request: HttpRequest, store: Store, **forms) -> dict:
    # Its customers' emails and those to the store itself: a demo document goes to the merchant.
    store_emails = {
        str((order.payload.get("customer") or {}).get("email", "")).lower()
        for order in Order.objects.filter(store=store).only("payload")
    } | {services.store_contact_email(store).lower()}
    emails = [
        email
        for email in Email.objects.prefetch_related("attachments").order_by("-id")[:300]
        if addresses(email.to) & (store_emails - {""})
    ][:30]
    for email in emails:
        email.links = links_in(email.text_body, email.html_body)
    examples = []
    for name in example_names():
        order = load_example(name)
        examples.append(
            {
                "name": name,
                "label": EXAMPLES[name],
                "total": order.get("total"),
                "json": json.dumps({"order": order}, ensure_ascii=False, indent=2),
            }
        )
    tokens = OAuthToken.objects.filter(store=store, revoked_at__isnull=True)
    return {
        "store": store,
        "orders": _order_rows(store),
        "hooks": Hook.objects.filter(store=store),
        "deliveries": WebhookDelivery.objects.filter(store=store).order_by("-id")[:40],
        "emails": emails,
        "of_documents": openfactura_documents(request),
        "examples": examples,
        "active_tokens": [token for token in tokens if not token.expired],
        "token_count": tokens.count(),
        "order_form": forms.get("order_form") or OrderForm(prefix="o"),
        "line_formset": forms.get("line_formset") or LineFormSet(prefix="l"),
        "json_form": forms.get("json_form")
        or JsonOrderForm(initial={"payload": examples[0]["json"] if examples else ""}),
        "max_deliveries": MAX_DELIVERIES,
    }


@require_GET
def store_page(request: HttpRequest, code: str) -> HttpResponse:
    store = get_object_or_404(Store, code=code)
    return render(request, "sandbox/store.html", _store_context(request, store))


@require_POST
def store_order_create(request: HttpRequest, code: str) -> HttpResponse:
    store = get_object_or_404(Store, code=code)
    mode = request.POST.get("mode")
    if mode == "example":
        name = request.POST.get("example", "")
        if name not in example_names():
            messages.error(request, "Ese ejemplo no existe.")
            return redirect("sandbox_store_page", code=code)
        order = load_example(name)
    elif mode == "json":
        json_form = JsonOrderForm(request.POST)
        if not json_form.is_valid():
            context = _store_context(request, store, json_form=json_form)
            return render(request, "sandbox/store.html", context, status=400)
        order = json_form.cleaned_data["payload"]
    else:
        order_form = OrderForm(request.POST, prefix="o")
        line_formset = LineFormSet(request.POST, prefix="l")
        valid = order_form.is_valid() & line_formset.is_valid()
        lines = lines_from(line_formset) if valid else []
        if valid and not lines:
            valid = False
            messages.error(request, "Agrega al menos un producto con nombre y precio.")
        if not valid:
            context = _store_context(request, store, order_form=order_form, line_formset=line_formset)
            return render(request, "sandbox/store.html", context, status=400)
        order = order_form.build(lines)
    try:
        row = services.order_create(store=store, order=order)
    except services.SandboxError as exc:
        messages.error(request, f"El pedido no es válido: {exc}")
        return redirect("sandbox_store_page", code=code)
    messages.success(request, f"Pedido #{row.order_id} creado ({status_es(row.payload.get('status'))}).")
    return redirect("sandbox_store_page", code=code)


@require_POST
def store_order_action(request: HttpRequest, code: str, order_id: int, action: str) -> HttpResponse:
    store = get_object_or_404(Store, code=code)
    order = get_object_or_404(Order, store=store, order_id=order_id)
    status = {"pay": "paid", "cancel": "canceled"}.get(action)
    if status is None:
        raise Http404
    times = int_param(request.POST.get("deliveries"), 1, maximum=MAX_DELIVERIES)
    try:
        rows = services.order_set_status(store=store, order=order, status=status, times=times)
    except services.SandboxError as exc:
        messages.error(request, f"No se pudo: {exc.text}")
        return redirect("sandbox_store_page", code=code)
    verb = "pagado" if status == "paid" else "anulado"
    if not rows:
        messages.warning(request, f"Pedido #{order_id} {verb}. No hay webhooks registrados para ese evento.")
    else:
        summary = ", ".join(str(row.status or row.error or "sin respuesta") for row in rows)
        level = messages.success if all(row.ok for row in rows) else messages.warning
        level(request, f"Pedido #{order_id} {verb}. Entregas del webhook: {summary}.")
    return redirect("sandbox_store_page", code=code)


@require_POST
def store_action(request: HttpRequest, code: str, action: str) -> HttpResponse:
    store = get_object_or_404(Store, code=code)
    if action == "reset_hooks_token":
        services.store_reset_hooks_token(store=store)
        messages.success(request, "Nuevo hooks_token generado. Los webhooks se firman con él desde ahora.")
    elif action == "revoke":
        count = services.store_revoke_tokens(store=store)
        messages.success(request, f"Tokens revocados: {count}. La aplicación queda desconectada.")
    elif action == "expire_tokens":
        count = services.store_expire_tokens(store=store)
        messages.success(request, f"Tokens de acceso vencidos: {count}. La app debe renovarlos.")
    else:
        raise Http404
    return redirect("sandbox_store_page", code=code)


@require_GET
def order_page(request: HttpRequest, code: str, order_id: int) -> HttpResponse:
    store = get_object_or_404(Store, code=code)
    order = get_object_or_404(Order, store=store, order_id=order_id)
    return render(
        request,
        "sandbox/order.html",
        {
            "store": store,
            "order": order,
            "status_es": STATUS_ES.get(order.status_enum, order.status_enum),
            "pill": STATUS_PILLS.get(order.status_enum, ""),
            "payload": json.dumps({"order": order.payload}, ensure_ascii=False, indent=2),
            "documents": order.documents.order_by("id"),
            "history": order.history.order_by("id"),
            "deliveries": WebhookDelivery.objects.filter(store=store, order_id=order_id).order_by("-id"),
            "max_deliveries": MAX_DELIVERIES,
        },
    )


@require_GET
def email_list(request: HttpRequest) -> HttpResponse:
    emails = list(Email.objects.prefetch_related("attachments").order_by("-id")[:200])
    for email in emails:
        email.links = links_in(email.text_body, email.html_body)
    return render(request, "sandbox/emails.html", {"emails": emails})


@require_GET
def email_detail(request: HttpRequest, pk: int) -> HttpResponse:
    email = get_object_or_404(Email, pk=pk)
    return render(
        request,
        "sandbox/email.html",
        {
            "email": email,
            "links": links_in(email.text_body, email.html_body),
            "attachments": email.attachments.all(),
        },
    )


@require_GET
def email_attachment(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    attachment = get_object_or_404(EmailAttachment, email_id=pk, pk=attachment_id)
    response = HttpResponse(bytes(attachment.content), content_type=attachment.content_type)
    inline = attachment.content_type in {"application/pdf", "text/plain"}
    response["Content-Disposition"] = content_disposition_header(not inline, attachment.filename)
    return response
