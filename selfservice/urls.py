"""Customer pages under ``/documento/`` (the link in the customer's email)."""

from django.urls import path

from . import views

app_name = "selfservice"

urlpatterns = [
    path("<str:token>/", views.document_page, name="page"),
    path("<str:token>/contribuyente/", views.taxpayer_lookup, name="taxpayer"),
]
