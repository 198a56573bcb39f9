"""Merchant pages under ``/app/``."""

app_name = "merchant"

urlpatterns: list = []
