"""Merchant pages under ``/app/``."""

from django.urls import path

from . import onboarding, views

app_name = "merchant"

urlpatterns = [
    path("", views.summary, name="summary"),
    path("primeros-pasos/", onboarding.onboarding, name="onboarding"),
    path("configuracion/", views.configuration, name="configuration"),
    path("emisor/", views.issuer, name="issuer"),
    path("impuestos/", views.tax_check, name="tax_check"),
    path("cola/", views.queue, name="queue"),
    path("documentos/", views.documents, name="documents"),
    path("documentos/emitir-orden", views.order_emit, name="order_emit"),
    path("documentos/reconciliar", views.orders_reconcile, name="orders_reconcile"),
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
