"""URLs under ``/sandbox/openfactura/``."""

urlpatterns: list = []
