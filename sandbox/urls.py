"""URLs under ``/sandbox/``."""

urlpatterns: list = []
