"""Emission services: the only code that changes emission state, one module per concern.

Flow (issue "Emission pipeline"): a stored ``order_paid`` event → ``order_paid_received`` enqueues
``emission.tasks.emit_for_order`` → ``document_emit_for_order`` re-reads the order from Jumpseller
(the webhook is only a trigger), applies the store's mode and creates the ``Document`` row (unique per
store/order/purpose, with its deterministic Idempotency-Key) → ``document_send`` builds the body with
the DTE engine, claims the row with a guarded update and POSTs it to OpenFactura → on success the
follow-ups (email to the customer, attachment in Jumpseller) are enqueued on commit.

Modules, in dependency order: ``state`` (shared exceptions, guarded state changes, publishing),
``configuration``, ``queue``, ``documents``, ``selfservice_link``, ``delivery``, ``orders`` (entry points
from Jumpseller events and the merchant's actions), ``review`` (confirming notas, leaving "requiere
revisión"), ``reconciliation``. Callers import from this package.
"""

from __future__ import annotations

from emission.services.configuration import (
    DEMO_NO_RECIPIENT,
    dte_settings_for,
    email_recipient_for,
    emission_settings_for,
    emission_settings_forget_api_key,
    openfactura_client_for,
    organization_refresh,
    store_email_for,
)
from emission.services.delivery import (
    DEMO_ATTACH_SKIPPED,
    PDF_LINK_SALT,
    document_attach,
    document_deliver,
    document_email_customer,
    document_pdf_bytes,
    document_pdf_url,
)
from emission.services.documents import (
    AUTH_ERROR_REASON,
    CANCELED_BEFORE_EMISSION,
    ISSUED_MAX_PAGES,
    document_body_store,
    document_build,
    document_build_with,
    document_get_or_create,
    document_send,
    document_withdraw,
    idempotency_key_for,
)
from emission.services.orders import (
    SALE_PURPOSE,
    OrderEmitOutcome,
    document_annul,
    document_annul_for_order,
    document_email_resend,
    document_emit_for_order,
    nota_annul_prepare,
    nota_credito_anula,
    nota_credito_parcial_create,
    nota_send_now,
    order_canceled_received,
    order_emit_request,
    order_paid_received,
)
from emission.services.queue import (
    ATTACH_SKIPPED,
    EMAIL_SKIPPED,
    MAX_DELIVER_ATTEMPTS,
    document_retry,
    emission_sweep,
    queue_pause,
    queue_resume,
)
from emission.services.reconciliation import (
    orders_reconcile,
)
from emission.services.review import (
    NotaPreview,
    PreviewChanged,
    document_receptor_correct,
    document_resolve,
    nota_parcial_confirm,
    nota_parcial_preview,
    nota_total_confirm,
    nota_total_preview,
    receptor_correctable,
    receptor_validated,
)
from emission.services.selfservice_link import (
    SELFSERVICE_SALT,
    selfservice_notice_send,
    selfservice_url_for,
)
from emission.services.state import (
    DEMO_API_KEY,
    IDEMPOTENCY_WINDOW,
    MAX_TRANSIENT_ATTEMPTS,
    ActionRefused,
    EmissionWaiting,
    RetryLater,
    SendDeferred,
    document_fields_set,
    document_never_sent,
    document_send_later,
    document_transition,
    enqueue,
    later,
    run_now_or_later,
)

__all__ = [
    "ATTACH_SKIPPED",
    "AUTH_ERROR_REASON",
    "ActionRefused",
    "document_never_sent",
    "CANCELED_BEFORE_EMISSION",
    "DEMO_API_KEY",
    "DEMO_ATTACH_SKIPPED",
    "DEMO_NO_RECIPIENT",
    "EMAIL_SKIPPED",
    "EmissionWaiting",
    "IDEMPOTENCY_WINDOW",
    "ISSUED_MAX_PAGES",
    "MAX_DELIVER_ATTEMPTS",
    "MAX_TRANSIENT_ATTEMPTS",
    "PDF_LINK_SALT",
    "RetryLater",
    "SALE_PURPOSE",
    "SELFSERVICE_SALT",
    "SendDeferred",
    "document_annul",
    "document_annul_for_order",
    "document_attach",
    "document_body_store",
    "document_build",
    "document_build_with",
    "document_deliver",
    "document_email_customer",
    "document_email_resend",
    "document_emit_for_order",
    "document_fields_set",
    "document_get_or_create",
    "document_pdf_bytes",
    "document_pdf_url",
    "document_retry",
    "document_send",
    "document_send_later",
    "document_transition",
    "document_withdraw",
    "dte_settings_for",
    "email_recipient_for",
    "emission_settings_for",
    "emission_settings_forget_api_key",
    "emission_sweep",
    "enqueue",
    "idempotency_key_for",
    "later",
    "NotaPreview",
    "OrderEmitOutcome",
    "PreviewChanged",
    "document_receptor_correct",
    "document_resolve",
    "nota_annul_prepare",
    "nota_parcial_confirm",
    "nota_parcial_preview",
    "nota_send_now",
    "nota_total_confirm",
    "nota_total_preview",
    "order_emit_request",
    "receptor_correctable",
    "receptor_validated",
    "nota_credito_anula",
    "nota_credito_parcial_create",
    "openfactura_client_for",
    "order_canceled_received",
    "order_paid_received",
    "orders_reconcile",
    "organization_refresh",
    "queue_pause",
    "queue_resume",
    "run_now_or_later",
    "selfservice_notice_send",
    "selfservice_url_for",
    "store_email_for",
]
