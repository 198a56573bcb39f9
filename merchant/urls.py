"""Merchant pages under ``/app/``."""

from django.urls import path

from . import backfill, f29, jobs, onboarding, rules, views

app_name = "merchant"

urlpatterns = [
    path("", views.summary, name="summary"),
    path("primeros-pasos/", onboarding.onboarding, name="onboarding"),
    path("configuracion/", views.configuration, name="configuration"),
    path("configuracion/reglas/", rules.rules, name="rules"),
    path("configuracion/reglas/<int:pk>/subir", rules.rule_action, {"action": "subir"}, name="rule_up"),
    path("configuracion/reglas/<int:pk>/bajar", rules.rule_action, {"action": "bajar"}, name="rule_down"),
    path(
        "configuracion/reglas/<int:pk>/eliminar",
        rules.rule_action,
        {"action": "eliminar"},
        name="rule_remove",
    ),
    path("emisor/", views.issuer, name="issuer"),
    path("impuestos/", views.tax_check, name="tax_check"),
    path("f29/", f29.f29, name="f29"),
    path("f29/<int:year>-<int:month>.csv", f29.f29_csv, name="f29_csv"),
    path("cola/", views.queue, name="queue"),
    path("documentos/", views.documents, name="documents"),
    path("documentos/emitir-orden", views.order_emit, name="order_emit"),
    path("documentos/reconciliar", views.orders_reconcile, name="orders_reconcile"),
    path("documentos/anteriores/", backfill.backfill, name="backfill"),
    path("trabajos/<int:pk>/", jobs.job_view, name="job"),
    path("trabajos/<int:pk>/cancelar", jobs.job_cancel_view, name="job_cancel"),
    path("documentos/<int:pk>/", views.document_detail, name="document"),
    path("documentos/<int:pk>/pdf", views.document_pdf, name="document_pdf"),
    path("documentos/<int:pk>/reintentar", views.document_retry, name="document_retry"),
    path("documentos/<int:pk>/reenviar-correo", views.document_resend, name="document_resend"),
    path("documentos/<int:pk>/nota-credito", views.document_annul, name="document_annul"),
    path(
        "documentos/<int:pk>/nota-credito-parcial", views.document_nota_parcial, name="document_nota_parcial"
    ),
    path("documentos/<int:pk>/resolver", views.document_resolve, name="document_resolve"),
    path("documentos/<int:pk>/receptor", views.document_receptor, name="document_receptor"),
]
