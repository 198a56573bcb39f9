"""Edges of the merchant pages (Spanish): parse the request, call one service, say what happened.

Every view is ``merchant_required`` (sets ``request.store``; embeddable in Jumpseller's admin) and every
query is scoped to ``request.store``: another store's ids are a 404.
"""

from __future__ import annotations

import csv
import secrets

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.formatting import format_clp
from emission import services as emission_services
from emission.client import OpenFacturaError, OpenFacturaUnauthorized
from emission.models import Document, DocumentKind, DocumentState, EmissionMode, UntaxedItems
from integration.client import JumpsellerError
from integration.decorators import confirmation_refused, merchant_required, store_object_or_404

from . import selectors, services
from .forms import (
    MODE_HELP,
    DocumentFilterForm,
    IssuerForm,
    NotaCreditoParcialForm,
    OrderNumberForm,
    ReconcileForm,
    SettingsForm,
)


def _who(request: HttpRequest) -> str:
    """Jumpseller gives the app no user identity: the session belongs to the store's admin."""
    store = request.store
    return f"Administrador de la tienda {store.code} (sesión de Jumpseller)"


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, template, {"store": request.store, **context}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@merchant_required
def configuration(request: HttpRequest) -> HttpResponse:
    store = request.store
    cfg = emission_services.emission_settings_for(store_id=store.pk)
    initial = {
        "demo_mode": cfg.demo_mode,
        # Prefilled with the store's own address (Jumpseller's store info) until the merchant saves one.
        "demo_recipient_email": cfg.demo_recipient_email
        or emission_services.store_email_for(store_id=store.pk),
        "demo_attach_documents": cfg.demo_attach_documents,
        "mode": cfg.mode,
        "untaxed_taxed": cfg.untaxed_items == UntaxedItems.TAXED,
        "factura_directa": cfg.factura_directa,
        "email_customer": cfg.email_customer,
        "email_copy_merchant": cfg.email_copy_merchant,
        "merchant_email": cfg.merchant_email,
    }
    status = 200
    if request.method == "POST":
        form = SettingsForm(request.POST, has_api_key=bool(cfg.api_key))
        if form.is_valid():
            data = form.cleaned_data
            organization = None
            new_key = data["api_key"]
            # Leaving demo mode with the stored key: it is checked against production too.
            key_to_check = new_key or (cfg.api_key if cfg.demo_mode and not data["demo_mode"] else "")
            if key_to_check:
                try:
                    organization = services.api_key_validate(api_key=key_to_check, demo=data["demo_mode"])
                except OpenFacturaUnauthorized:
                    form.add_error(
                        "api_key",
                        "OpenFactura no reconoce esta API key. Revísala en OpenFactura (Configuración → "
                        "API) y vuelve a pegarla. No se guardó ningún cambio.",
                    )
                except OpenFacturaError:
                    form.add_error(
                        "api_key",
                        "No pudimos verificar la API key con OpenFactura en este momento. No se guardó "
                        "ningún cambio; inténtalo de nuevo en unos minutos.",
                    )
            if form.is_valid():
                values = {
                    "demo_mode": data["demo_mode"],
                    "demo_recipient_email": data["demo_recipient_email"],
                    "demo_attach_documents": data["demo_attach_documents"],
                    "mode": data["mode"],
                    "untaxed_items": UntaxedItems.TAXED if data["untaxed_taxed"] else UntaxedItems.EXEMPT,
                    "factura_directa": data["factura_directa"],
                    "email_customer": data["email_customer"],
                    "email_copy_merchant": data["email_copy_merchant"],
                    "merchant_email": data["merchant_email"],
                }
                change = services.emission_settings_update(
                    store_id=store.pk,
                    who=_who(request),
                    values=values,
                    new_api_key=new_key,
                    organization=organization,
                )
                if change.entry:
                    messages.success(
                        request, "Configuración guardada: " + change.entry.what.replace("\n", "; ")
                    )
                else:
                    messages.info(request, "No había cambios que guardar.")
                return redirect("merchant:configuration")
        status = 400
    else:
        form = SettingsForm(initial=initial, has_api_key=bool(cfg.api_key))
    modes = [
        {"value": value, "label": label, "help": MODE_HELP[EmissionMode(value)]}
        for value, label in EmissionMode.choices
    ]
    selected_mode = form["mode"].value()
    return _render(
        request,
        "merchant/configuration.html",
        {
            "active": "configuration",
            "form": form,
            "cfg": cfg,
            "modes": modes,
            "selected_mode": int(selected_mode) if str(selected_mode or "").isdigit() else None,
            "api_key_masked": services.api_key_mask(cfg.api_key),
            "audit": selectors.audit_entries_for(store_id=store.pk)[:20],
        },
        status=status,
    )


# --- Documentos ------------------------------------------------------------------------------------
PAGE_SIZE = 25
CSV_HEADER = [
    "id",
    "orden",
    "tipo",
    "folio",
    "estado",
    "ambiente",
    "cliente",
    "neto",
    "exento",
    "iva",
    "total",
    "creado",
    "emitido",
    "error",
]


def _local(value) -> str:
    return timezone.localtime(value).strftime("%d-%m-%Y %H:%M") if value else ""


# Spreadsheets run a cell that starts with one of these as a formula (OWASP "CSV Injection"), also after
# leading whitespace or a BOM they skip, and Excel with a Japanese/Chinese locale reads the full-width
# forms ＝＋－＠ as the ASCII ones.
_CSV_FORMULA_PREFIXES = frozenset("=+-@\t\r\n \ufeff\uff1d\uff0b\uff0d\uff20")


def _csv_cell(value) -> str:
    """The cell as text, with a leading ``'`` when a spreadsheet could run it (CSV injection)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in _CSV_FORMULA_PREFIXES else text


@never_cache
@require_GET
@merchant_required
def documents(request: HttpRequest) -> HttpResponse:
    store = request.store
    form = DocumentFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    rows = selectors.documents_filtered(store_id=store.pk, filters=filters)
    if request.GET.get("formato") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="documentos-{store.code}.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_HEADER)
        for d in rows.iterator():
            writer.writerow(
                [
                    _csv_cell(v)
                    for v in (
                        d.pk,
                        d.order_number or d.order_id,
                        d.tipo_name,
                        d.folio,
                        d.get_state_display(),
                        "demostración" if d.demo else "producción",
                        d.customer_name,
                        d.mnt_neto,
                        d.mnt_exe,
                        d.iva,
                        d.mnt_total,
                        _local(d.created_at),
                        _local(d.emitted_at),
                        d.error_message,
                    )
                ]
            )
        return response
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("pagina"))
    query = request.GET.copy()
    query.pop("pagina", None)
    return _render(
        request,
        "merchant/documents.html",
        {
            "active": "documents",
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "order_form": OrderNumberForm(),
            "reconcile_form": ReconcileForm(),
        },
    )


@never_cache
@require_GET
@merchant_required
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    store = request.store
    document = store_object_or_404(request, Document.objects.defer("pdf"), pk=pk)
    body = document.request_body or {}
    dte = body.get("dte") or {}
    return _render(
        request,
        "merchant/document.html",
        {
            "active": "documents",
            "document": document,
            "lines": dte.get("Detalle") or [],
            "receptor": document.receptor or (dte.get("Encabezado") or {}).get("Receptor") or {},
            "attempts": selectors.attempts_for(store_id=store.pk, document_id=document.pk),
            "pdf_url": emission_services.document_pdf_url(document) if document.state == "emitted" else "",
            "selfservice_url": emission_services.selfservice_url_for(
                store_id=store.pk, order_id=document.order_id
            ),
            "notas": document.notas.all(),
            "annuls": document.annuls
            if document.annuls_id and document.annuls.store_id == store.pk
            else None,
            "nc_form": NotaCreditoParcialForm(initial={"request_key": secrets.token_urlsafe(12)}),
        },
    )


def _document_action(request: HttpRequest, pk: int, action, *, confirm: bool = False) -> HttpResponse:
    document = store_object_or_404(request, Document.objects.defer("pdf"), pk=pk)
    if confirm and confirmation_refused(request):
        return redirect("merchant:document", pk=document.pk)
    try:
        text = action(document)
    except emission_services.ActionRefused as refused:
        messages.error(request, refused.message)
    except (JumpsellerError, OpenFacturaError):
        messages.error(
            request, "Jumpseller u OpenFactura no respondieron: no se hizo nada. Inténtalo de nuevo."
        )
    else:
        messages.success(request, text)
        services.audit_record(
            store_id=request.store.pk,
            who=_who(request),
            what=f"{document.tipo_name} #{document.pk} (orden {document.order_id}): {text}",
        )
    return redirect("merchant:document", pk=document.pk)


@never_cache
@require_POST
@merchant_required
def document_retry(request: HttpRequest, pk: int) -> HttpResponse:
    def act(document: Document) -> str:
        if document.state == DocumentState.EMITTED:
            return "El documento ya está emitido: no hay nada que reintentar."
        if document.state == DocumentState.SENDING:
            return "El documento se está enviando en este momento: no se reintentó de nuevo."
        emission_services.document_retry(store_id=request.store.pk, document_id=document.pk)
        return "Reintento en curso: el documento se enviará de nuevo a OpenFactura; nunca se emite dos veces."

    return _document_action(request, pk, act)


@never_cache
@require_POST
@merchant_required
def document_resend(request: HttpRequest, pk: int) -> HttpResponse:
    def act(document: Document) -> str:
        sent = emission_services.document_email_resend(store_id=request.store.pk, document_id=document.pk)
        if sent.demo:  # a demo document's email goes to the merchant's demo address, never the customer
            cfg = emission_services.emission_settings_for(store_id=request.store.pk)
            return f"Correo de prueba reenviado a {cfg.demo_recipient_email} (modo demo), no al cliente."
        return f"Correo reenviado a {sent.customer_email or 'el cliente'}."

    return _document_action(request, pk, act)


@never_cache
@require_POST
@merchant_required
def document_annul(request: HttpRequest, pk: int) -> HttpResponse:
    def act(document: Document) -> str:
        if document.kind == DocumentKind.NOTA_CREDITO or document.state != DocumentState.EMITTED:
            raise emission_services.ActionRefused(
                "Solo se puede anular con nota de crédito una boleta o factura emitida."
            )
        if (
            document.notas.filter(purpose__startswith="nc:")
            .exclude(state=DocumentState.REQUIRES_REVIEW)
            .exists()
        ):
            return "Este documento ya tiene su nota de crédito total: no se emitió otra."
        nota = emission_services.document_annul(store_id=request.store.pk, document_id=document.pk)
        if nota.state == DocumentState.EMITTED:
            return f"Nota de crédito N° {nota.folio} emitida: anula el documento N° {document.folio}."
        detail = nota.error_message or "se enviará en breve"
        return f"Nota de crédito en curso ({nota.get_state_display().lower()}): {detail}"

    return _document_action(request, pk, act, confirm=True)


@never_cache
@require_POST
@merchant_required
def document_nota_parcial(request: HttpRequest, pk: int) -> HttpResponse:
    form = NotaCreditoParcialForm(request.POST)

    def act(document: Document) -> str:
        if not form.is_valid():
            raise emission_services.ActionRefused(
                "Revisa el monto y el motivo de la nota de crédito parcial: "
                + " ".join(e for errors in form.errors.values() for e in errors)
            )
        nota = emission_services.nota_credito_parcial_create(
            store_id=request.store.pk,
            document_id=document.pk,
            request_key=form.cleaned_data["request_key"],
            amount=form.cleaned_data["amount"],
            razon=form.cleaned_data["razon"],
        )
        return f"Nota de crédito parcial por {format_clp(nota.mnt_total)} registrada (documento #{nota.pk})."

    return _document_action(request, pk, act, confirm=True)


@never_cache
@require_POST
@merchant_required
def order_emit(request: HttpRequest) -> HttpResponse:
    form = OrderNumberForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Indica un número de orden válido.")
        return redirect("merchant:documents")
    order_id = form.cleaned_data["order_id"]
    existing = Document.objects.filter(store=request.store, order_id=order_id).exclude(
        kind=DocumentKind.NOTA_CREDITO
    )
    if existing.exists():
        messages.info(request, f"La orden {order_id} ya tiene su documento: no se emitió otro.")
    else:
        store_id = request.store.pk
        transaction.on_commit(
            lambda: emission_services.enqueue("emission.emit_for_order", store_id, order_id)
        )
        messages.success(
            request,
            f"Pedimos a Jumpseller la orden {order_id}: si está pagada, su documento aparecerá "
            "en esta lista.",
        )
    return redirect("merchant:documents")


@never_cache
@require_POST
@merchant_required
def orders_reconcile(request: HttpRequest) -> HttpResponse:
    form = ReconcileForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "Revisa el rango de fechas: " + " ".join(e for es in form.errors.values() for e in es)
        )
        return redirect("merchant:documents")
    try:
        found = emission_services.orders_reconcile(
            store_id=request.store.pk,
            date_from=form.cleaned_data["date_from"],
            date_to=form.cleaned_data["date_to"],
        )
    except JumpsellerError:
        messages.error(
            request, "Jumpseller no respondió; no se revisó nada. Inténtalo de nuevo en unos minutos."
        )
    else:
        messages.success(
            request,
            f"Revisamos las órdenes pagadas entre {form.cleaned_data['date_from']:%d-%m-%Y} y "
            f"{form.cleaned_data['date_to']:%d-%m-%Y}: {found} no tenían documento y se emitirán ahora.",
        )
    return redirect("merchant:documents")


# --- Cola --------------------------------------------------------------------------------------------
@never_cache
@require_http_methods(["GET", "POST"])
@merchant_required
def queue(request: HttpRequest) -> HttpResponse:
    store = request.store
    if request.method == "POST":
        if request.POST.get("accion") == "pausar":
            if confirmation_refused(request):
                return redirect("merchant:queue")
            reason = (request.POST.get("motivo") or "").strip()[:200] or "Pausada por el comercio."
            if emission_services.queue_pause(store_id=store.pk, reason=reason):
                services.audit_record(store_id=store.pk, who=_who(request), what=f"Cola pausada: {reason}")
                messages.success(request, "Cola pausada: los pedidos pagados esperan y no se pierde ninguno.")
            else:
                messages.info(request, "La cola ya estaba pausada.")
        elif request.POST.get("accion") == "reanudar":
            cfg = emission_services.emission_settings_for(store_id=store.pk)
            if not cfg.queue_paused:
                messages.info(request, "La cola ya estaba en marcha.")
            else:
                try:
                    sent = emission_services.queue_resume(store_id=store.pk)
                except emission_services.ActionRefused as refused:
                    messages.error(request, refused.message)
                else:
                    services.audit_record(store_id=store.pk, who=_who(request), what="Cola reanudada")
                    messages.success(
                        request, f"Cola reanudada: {sent} documento(s) en espera se están enviando."
                    )
        return redirect("merchant:queue")
    cfg = emission_services.emission_settings_for(store_id=store.pk)
    return _render(
        request,
        "merchant/queue.html",
        {"active": "queue", "cfg": cfg, **selectors.queue_state(store_id=store.pk)},
    )


# --- Información del emisor -----------------------------------------------------------------------------
@never_cache
@require_http_methods(["GET", "POST"])
@merchant_required
def issuer(request: HttpRequest) -> HttpResponse:
    store = request.store
    cfg = emission_services.emission_settings_for(store_id=store.pk)
    if request.method == "POST" and request.POST.get("accion") == "actualizar":
        try:
            emission_services.organization_refresh(cfg=cfg)
        except OpenFacturaError:
            messages.error(request, "OpenFactura no respondió; mostramos los últimos datos conocidos.")
        else:
            messages.success(request, "Datos del emisor actualizados desde OpenFactura.")
        return redirect("merchant:issuer")
    if not cfg.organization:
        try:
            emission_services.organization_refresh(cfg=cfg)
        except OpenFacturaError:
            messages.error(
                request, "No pudimos leer los datos de tu empresa en OpenFactura. Revisa la API key."
            )
    organization = cfg.organization or {}
    form = IssuerForm(
        request.POST if request.method == "POST" else None,
        organization=organization,
        initial={"acteco": cfg.acteco, "sucursal": cfg.sucursal},
    )
    if request.method == "POST" and form.is_valid():
        change = services.emission_settings_update(
            store_id=store.pk,
            who=_who(request),
            values={"acteco": form.cleaned_data["acteco"], "sucursal": form.cleaned_data["sucursal"]},
        )
        messages.success(request, "Emisor guardado." if change.entry else "No había cambios que guardar.")
        return redirect("merchant:issuer")
    acteco = form["acteco"].value() or ""
    sucursal = form["sucursal"].value() or ""
    actividades = organization.get("actividades") or []
    actividad = next(
        (a for a in actividades if str(a.get("codigoActividadEconomica")) == acteco), None
    ) or next((a for a in actividades if a.get("actividadPrincipal")), actividades[0] if actividades else {})
    branch = next(
        (s for s in organization.get("sucursales") or [] if str(s.get("cdgSIISucur")) == sucursal), None
    )
    preview = {
        "razon_social": organization.get("razonSocial", ""),
        "rut": organization.get("rut", ""),
        "giro": (actividad or {}).get("giro") or organization.get("glosaDescriptiva", ""),
        "acteco": (actividad or {}).get("codigoActividadEconomica", ""),
        "direccion": (branch or organization).get("direccion", ""),
        "comuna": (branch or organization).get("comuna", ""),
    }
    return _render(
        request,
        "merchant/issuer.html",
        {"active": "issuer", "cfg": cfg, "organization": organization, "form": form, "preview": preview},
        status=400 if request.method == "POST" else 200,
    )


# --- Resumen ----------------------------------------------------------------------------------------------
@never_cache
@require_GET
@merchant_required
def summary(request: HttpRequest) -> HttpResponse:
    store = request.store
    cfg = emission_services.emission_settings_for(store_id=store.pk)
    today = timezone.localdate()
    checklist = (
        selectors.go_live_checklist(cfg=cfg, auth_error_reason=emission_services.AUTH_ERROR_REASON)
        if cfg.demo_mode
        else []
    )
    return _render(
        request,
        "merchant/summary.html",
        {
            "active": "home",
            "cfg": cfg,
            "today": today,
            "checklist": checklist,
            **selectors.summary(store_id=store.pk, today=today),
            **selectors.queue_state(store_id=store.pk),
        },
    )


# --- Revisión de impuestos ----------------------------------------------------------------------------
@never_cache
@require_GET
@merchant_required
def tax_check(request: HttpRequest) -> HttpResponse:
    store = request.store
    cfg = emission_services.emission_settings_for(store_id=store.pk)
    check = selectors.tax_check_recent(store_id=store.pk, untaxed_items=cfg.untaxed_items)
    return _render(
        request,
        "merchant/tax_check.html",
        {
            "active": "configuration",
            "findings": check.findings,
            "checked": check.checked,
            "error": check.error,
        },
    )


@never_cache
@require_GET
@merchant_required
def document_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The PDF inline for the detail's preview (same origin, so the admin iframe may show it)."""
    document = store_object_or_404(request, Document, pk=pk, state=DocumentState.EMITTED)
    try:
        pdf = emission_services.document_pdf_bytes(document)
    except OpenFacturaError:
        return HttpResponse(
            "El PDF no está disponible en este momento. Intenta nuevamente en unos minutos.",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "attachment" if request.GET.get("descargar") else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{document.tipo}-{document.folio}.pdf"'
    return response
