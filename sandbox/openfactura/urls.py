"""URLs under ``/sandbox/openfactura/``: the API (``v2/dte/...``, what ``OPENFACTURA_URL`` points at)
and the control API (``documents``, ``faults``; with or without a trailing slash)."""

from django.urls import path, re_path

from . import control, views

urlpatterns: list = [
    path("v2/dte/document", views.document_emit),
    path("v2/dte/document/issued", views.documents_issued),
    path("v2/dte/document/<str:token>/<str:value>", views.document_by_token),
    path("v2/dte/document/<str:rut>/<str:tipo>/<str:folio>/<str:value>", views.document_by_folio),
    path("v2/dte/organization", views.organization),
    path("v2/dte/organization/document", views.organization_documents),
    path("v2/dte/taxpayer/<str:rut>", views.taxpayer),
    re_path(r"^v2/(?P<path>.*)$", views.api_not_found),
    path("documents", control.documents, name="sandbox_openfactura_documents"),
    path("documents/", control.documents),
    path("documents/manual", control.documents_by_hand, name="sandbox_openfactura_documents_by_hand"),
    path("documents/manual/", control.documents_by_hand),
    path("documents/<str:token>.pdf", control.document_pdf, name="sandbox_openfactura_document_pdf"),
    path("faults", control.faults, name="sandbox_openfactura_faults"),
    path("faults/", control.faults),
    path("autoservicio/<str:token>", control.self_service, name="sandbox_openfactura_self_service"),
]
