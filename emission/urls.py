"""Public URLs of ``emission``: the document PDF link attached to Jumpseller orders and sent by email."""

from django.urls import path

from . import views

app_name = "emission"

urlpatterns = [
    path("documentos/<str:token>.pdf", views.document_pdf, name="document_pdf"),
]
