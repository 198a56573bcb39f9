"""URLs under ``/sandbox/``."""

from django.urls import include, path

urlpatterns: list = [
    path("openfactura/", include("sandbox.openfactura.urls")),
]
