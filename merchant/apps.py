"""App config for ``merchant``."""

from django.apps import AppConfig


class MerchantConfig(AppConfig):
    name = "merchant"
    verbose_name = "Páginas del comercio"
