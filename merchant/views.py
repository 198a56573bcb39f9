"""Edges of the merchant pages (Spanish): parse the request, call one service, say what happened.

Every view is ``merchant_required`` (sets ``request.store``; embeddable in Jumpseller's admin) and every
query is scoped to ``request.store``: another store's ids are a 404.
"""

from __future__ import annotations

import csv
import secrets

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.formatting import format_clp
from emission import services as emission_services
from emission.client import OpenFacturaError, OpenFacturaUnauthorized
from emission.models import Document, DocumentKind, DocumentState, EmissionMode, UntaxedItems
from integration.client import JumpsellerError
from integration.decorators import confirmation_refused, merchant_required, store_object_or_404
from integration.services import StoreDisconnected

from . import backfill, jobs, selectors, services
from .forms import (
    MODE_HELP,
    DocumentFilterForm,
    IssuerForm,
    NotaCreditoParcialForm,
    NotaCreditoTotalForm,
    OrderNumberForm,
    ReceptorForm,
    ReconcileForm,
    ResolveForm,
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
    """The cell as text, with a leading ``'`` when a spreadsheet could run it (CSV injection). Numbers are
    numbers, never formulas: a nota's ``-12990`` stays a negative amount."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
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
                        ANNULLED if d.annulled else d.get_state_display(),
                        "demostración" if d.demo else "producción",
                        d.customer_name,
                        d.signed_neto,
                        d.signed_exe,
                        d.signed_iva,
                        d.signed_total,
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
            "reconcile_form": ReconcileForm(auto_id="id_reconciliar_%s"),  # unique ids beside the filters
            "reconcile_job": backfill.reconcile_status(store_id=request.store.pk),
        },
    )


ANNULLED = "Anulado"


def _document_or_404(request: HttpRequest, pk: int) -> Document:
    return store_object_or_404(request, Document.objects.defer("pdf"), pk=pk)


def _detail(request: HttpRequest, document: Document, *, status: int = 200, **forms) -> HttpResponse:
    """The document's page; a refused form comes back bound (what the merchant typed, with its errors)."""
    store = request.store
    body = document.request_body or {}
    dte = body.get("dte") or {}
    annulled_by = (
        selectors.annulling_nota_for(store_id=store.pk, document=document)
        if document.kind != DocumentKind.NOTA_CREDITO
        else None
    )
    nota_allowed = (
        document.state == DocumentState.EMITTED
        and document.kind != DocumentKind.NOTA_CREDITO
        and annulled_by is None
    )
    in_review = document.state == DocumentState.REQUIRES_REVIEW
    receptor_fixable = in_review and emission_services.receptor_correctable(document)
    receptor = document.receptor or (dte.get("Encabezado") or {}).get("Receptor") or {}
    override = document.receptor_override or {}
    if receptor_fixable and not receptor and not override and "receptor_form" not in forms:
        override = selectors.order_buyer_for(store_id=store.pk, order_id=document.order_id)
    return _render(
        request,
        "merchant/document.html",
        {
            "active": "documents",
            "document": document,
            "table": selectors.document_lines(body),
            "receptor": receptor,
            "attempts": selectors.attempts_for(store_id=store.pk, document_id=document.pk),
            "pdf_url": emission_services.document_pdf_url(document) if document.state == "emitted" else "",
            "selfservice_url": emission_services.selfservice_url_for(
                store_id=store.pk, order_id=document.order_id
            ),
            "notas": document.notas.all(),
            "annuls": document.annuls
            if document.annuls_id and document.annuls.store_id == store.pk
            else None,
            "annulled_by": annulled_by,
            "nota_allowed": nota_allowed,
            "in_review": in_review,
            "total_form": forms.get("total_form") or NotaCreditoTotalForm(),
            "nc_form": forms.get("nc_form")
            or NotaCreditoParcialForm(
                initial={"request_key": secrets.token_urlsafe(12)}, lines=_original_lines(document)
            ),
            "resolve_form": forms.get("resolve_form") or ResolveForm(),
            "receptor_fixable": receptor_fixable,
            "receptor_form": forms.get("receptor_form")
            or ReceptorForm(
                initial={
                    "rut": override.get("rut") or receptor.get("RUTRecep", ""),
                    "razon_social": override.get("razon_social") or receptor.get("RznSocRecep", ""),
                    "giro": override.get("giro") or receptor.get("GiroRecep", ""),
                    "direccion": override.get("direccion") or receptor.get("DirRecep", ""),
                    "comuna": override.get("comuna") or receptor.get("CmnaRecep", ""),
                }
            ),
        },
        status=status,
    )


def _original_lines(document: Document) -> list[dict]:
    """The lines a partial nota may return units of (none on a nota itself)."""
    if document.kind == DocumentKind.NOTA_CREDITO:
        return []
    return selectors.document_lines(document.request_body)["lines"]


@never_cache
@require_GET
@merchant_required
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _document_or_404(request, pk))


def _audit(request: HttpRequest, document: Document, text: str) -> None:
    services.audit_record(
        store_id=request.store.pk,
        who=_who(request),
        what=f"{document.tipo_name} #{document.pk} (orden {document.order_id}): {text}",
    )


def _document_action(request: HttpRequest, pk: int, action) -> HttpResponse:
    document = _document_or_404(request, pk)
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
        _audit(request, document, text)
    return redirect("merchant:document", pk=document.pk)


@never_cache
@require_POST
@merchant_required
def document_retry(request: HttpRequest, pk: int) -> HttpResponse:
    def act(document: Document) -> str:
        if document.state == DocumentState.EMITTED:
            raise emission_services.ActionRefused("El documento ya está emitido: no hay nada que reintentar.")
        if document.state == DocumentState.SENDING:
            raise emission_services.ActionRefused(
                "El documento se está enviando en este momento: no se reintentó de nuevo."
            )
        if document.state == DocumentState.RESOLVED:
            raise emission_services.ActionRefused(
                "El documento está marcado como resuelto a mano: no se envía a OpenFactura."
            )
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


# --- Notas de crédito: form → confirmation page (the very nota, built and undone) → issue ---------------
CONFIRM_STEP = "confirmar"


def _nota_confirmation(
    request: HttpRequest, document: Document, preview, *, action: str, fields: dict, status: int = 200
) -> HttpResponse:
    return _render(
        request,
        "merchant/nota_confirm.html",
        {
            "active": "documents",
            "document": document,
            "preview": preview,
            "action": action,
            "fields": fields,
            "step": CONFIRM_STEP,
        },
        status=status,
    )


def _nota_result(request: HttpRequest, document: Document, nota: Document, *, total: bool) -> None:
    """Say what happened, by folio (never an internal id), in the colour of what happened."""
    amount = format_clp(nota.mnt_total)
    if nota.state == DocumentState.EMITTED:
        if total:
            text = f"Nota de crédito N° {nota.folio} emitida: anula el documento N° {document.folio}."
        else:
            text = (
                f"Nota de crédito N° {nota.folio} emitida por {amount}: devolución parcial del documento "
                f"N° {document.folio}."
            )
        messages.success(request, text)
    elif nota.state == DocumentState.REQUIRES_REVIEW:
        text = f"La nota de crédito por {amount} no se emitió: {nota.error_message}"
        messages.error(request, text)
    else:
        detail = nota.error_message or "se enviará en breve"
        text = (
            f"Nota de crédito por {amount} en curso ({nota.get_state_display().lower()}): {detail}. Su folio "
            "aparecerá aquí al emitirse."
        )
        messages.warning(request, text)
    _audit(request, document, text)


def _nota_issue(request, document, *, action: str, fields: dict, preview, confirm, total: bool):
    """The two steps of every nota: without ``paso=confirmar`` show what would be issued; with it (and
    the store's code typed) issue exactly that, once."""
    try:
        if request.POST.get("paso") != CONFIRM_STEP:
            return _nota_confirmation(request, document, preview(), action=action, fields=fields)
        if confirmation_refused(request):
            return _nota_confirmation(request, document, preview(), action=action, fields=fields, status=400)
        nota = confirm(request.POST.get("vista", ""))
    except emission_services.PreviewChanged as changed:
        messages.error(request, changed.message)
        return _nota_confirmation(
            request, document, changed.preview, action=action, fields=fields, status=409
        )
    except emission_services.ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect("merchant:document", pk=document.pk)
    except (JumpsellerError, OpenFacturaError):
        messages.error(request, "OpenFactura no respondió: no se emitió nada. Inténtalo de nuevo.")
        return redirect("merchant:document", pk=document.pk)
    _nota_result(request, document, nota, total=total)
    return redirect("merchant:document", pk=document.pk)


def _nota_refused(request: HttpRequest, document: Document) -> HttpResponse | None:
    if document.kind == DocumentKind.NOTA_CREDITO or document.state != DocumentState.EMITTED:
        messages.error(
            request, "Solo se puede emitir una nota de crédito sobre una boleta o factura emitida."
        )
        return redirect("merchant:document", pk=document.pk)
    return None


@never_cache
@require_POST
@merchant_required
def document_annul(request: HttpRequest, pk: int) -> HttpResponse:
    document = _document_or_404(request, pk)
    if refused := _nota_refused(request, document):
        return refused
    form = NotaCreditoTotalForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Revisa el motivo de la nota de crédito total.")
        return _detail(request, document, total_form=form, status=400)
    store_id, razon = request.store.pk, form.cleaned_data["razon"]
    return _nota_issue(
        request,
        document,
        action=reverse("merchant:document_annul", args=[document.pk]),
        fields={"razon": razon},
        preview=lambda: emission_services.nota_total_preview(
            store_id=store_id, document_id=document.pk, razon=razon
        ),
        confirm=lambda vista: emission_services.nota_total_confirm(
            store_id=store_id, document_id=document.pk, razon=razon, expect=vista
        ),
        total=True,
    )


@never_cache
@require_POST
@merchant_required
def document_nota_parcial(request: HttpRequest, pk: int) -> HttpResponse:
    document = _document_or_404(request, pk)
    if refused := _nota_refused(request, document):
        return refused
    form = NotaCreditoParcialForm(request.POST, lines=_original_lines(document))
    if not form.is_valid():
        messages.error(
            request,
            "Revisa el monto y el motivo de la nota de crédito parcial: no se emitió nada.",
        )
        return _detail(request, document, nc_form=form, status=400)
    store_id, data = request.store.pk, form.cleaned_data
    values = {
        "amount": data["amount"],
        "lines": data["lines"],
        "razon": data["razon"],
        "request_key": data["request_key"],
    }
    # What the confirmation page posts back: the same inputs, as typed values.
    hidden = {"amount": data["amount"] or "", "razon": data["razon"], "request_key": data["request_key"]}
    hidden |= {f"linea_{number}": int(units) for number, units in data["lines"] or []}
    return _nota_issue(
        request,
        document,
        action=reverse("merchant:document_nota_parcial", args=[document.pk]),
        fields=hidden,
        preview=lambda: emission_services.nota_parcial_preview(
            store_id=store_id, document_id=document.pk, **values
        ),
        confirm=lambda vista: emission_services.nota_parcial_confirm(
            store_id=store_id, document_id=document.pk, expect=vista, **values
        ),
        total=False,
    )


# --- Requiere revisión: mark resolved by hand, correct a factura's buyer ---------------------------------
@never_cache
@require_POST
@merchant_required
def document_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    document = _document_or_404(request, pk)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Revisa los datos para marcar el documento como resuelto.")
        return _detail(request, document, resolve_form=form, status=400)
    folio, motivo = form.cleaned_data["folio"], form.cleaned_data["motivo"]
    try:
        emission_services.document_resolve(
            store_id=request.store.pk, document_id=document.pk, folio=folio, reason=motivo
        )
    except emission_services.ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect("merchant:document", pk=document.pk)
    elsewhere = f" (folio {folio} emitido en otro sistema)" if folio else ""
    text = f"Marcado como resuelto a mano{elsewhere}: {motivo}. No se enviará a OpenFactura."
    messages.success(request, text)
    _audit(request, document, text)
    return redirect("merchant:document", pk=document.pk)


@never_cache
@require_POST
@merchant_required
def document_receptor(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Corregir datos del receptor": the form, then a confirmation of the buyer that will be sent, then
    the rebuilt factura goes out (nothing is sent before the merchant confirms)."""
    document = _document_or_404(request, pk)
    if not emission_services.receptor_correctable(document):
        messages.error(
            request,
            "Solo se pueden corregir los datos del receptor de una factura que requiere revisión por ellos.",
        )
        return redirect("merchant:document", pk=document.pk)
    form = ReceptorForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Revisa los datos del receptor: no se envió nada.")
        return _detail(request, document, receptor_form=form, status=400)
    if request.POST.get("paso") != CONFIRM_STEP:
        return _render(
            request,
            "merchant/receptor_confirm.html",
            {
                "active": "documents",
                "document": document,
                "receptor": form.receptor,
                "fields": form.cleaned_data,
                "shortened": [
                    label
                    for name, label in (
                        ("razon_social", "razón social"),
                        ("giro", "giro"),
                        ("direccion", "dirección"),
                    )
                    if getattr(form.receptor, name) != form.cleaned_data[name].strip()
                ],
                "step": CONFIRM_STEP,
            },
        )
    try:
        fixed = emission_services.document_receptor_correct(
            store_id=request.store.pk, document_id=document.pk, receptor=form.receptor
        )
    except emission_services.ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect("merchant:document", pk=document.pk)
    fixed.refresh_from_db()
    if fixed.state == DocumentState.EMITTED:
        text = (
            f"Datos del receptor corregidos: factura N° {fixed.folio} emitida a {form.receptor.razon_social}."
        )
        messages.success(request, text)
    elif fixed.state == DocumentState.REQUIRES_REVIEW:
        text = f"Datos del receptor corregidos, pero la factura no se emitió: {fixed.error_message}"
        messages.error(request, text)
    else:
        text = "Datos del receptor corregidos: la factura se envía de nuevo a OpenFactura."
        messages.success(request, text)
    _audit(request, document, f"{text} (RUT {form.receptor.rut})")
    return redirect("merchant:document", pk=document.pk)


@never_cache
@require_POST
@merchant_required
def order_emit(request: HttpRequest) -> HttpResponse:
    form = OrderNumberForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Indica un número de orden válido.")
        return redirect("merchant:documents")
    order_id = form.cleaned_data["order_id"]
    try:
        outcome = emission_services.order_emit_request(store_id=request.store.pk, order_id=order_id)
    except (JumpsellerError, StoreDisconnected):
        messages.error(
            request, "Jumpseller no respondió: no pudimos leer la orden. Inténtalo de nuevo en unos minutos."
        )
        return redirect("merchant:documents")
    if outcome.result == "not_found":
        messages.error(
            request, f"No encontramos la orden {order_id} en tu tienda de Jumpseller: revisa el número."
        )
    elif outcome.result == "not_paid":
        messages.error(
            request,
            f"La orden {order_id} no está pagada (en Jumpseller está {outcome.order_status}): no se emitió "
            "nada. Su documento se emitirá solo cuando se pague.",
        )
    elif outcome.result == "documented":
        found = outcome.document
        name = f"{found.tipo_name}{f' N° {found.folio}' if found.folio else ''}"
        messages.info(
            request,
            format_html(
                'La orden {} ya tiene su documento: <a href="{}">{}</a> ({}). No se emitió otro.',
                order_id,
                reverse("merchant:document", args=[found.pk]),
                name,
                found.get_state_display().lower(),
            ),
        )
    elif outcome.link_only:
        messages.success(
            request,
            f"La orden {order_id} está pagada: enviamos al cliente el enlace para emitir su documento "
            "(modo 3 o 4, sin documento al pagar).",
        )
    else:
        messages.success(
            request,
            f"La orden {order_id} está pagada: su documento se está emitiendo y aparecerá en esta lista.",
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
    # A background job (merchant.backfill.run_reconcile): the backfill's run of a range, with its checks;
    # an earlier month's orders wait for confirmation on «Emitir documentos de pedidos anteriores».
    start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    try:
        jobs.job_start(
            store_id=request.store.pk,
            kind=backfill.KIND_RECONCILE,
            params={"date_from": start.isoformat(), "date_to": end.isoformat()},
            who=_who(request),
        )
    except jobs.JobRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"Revisando las órdenes pagadas entre {start:%d-%m-%Y} y {end:%d-%m-%Y}.")
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
