"""App config for ``emission``."""

from django.apps import AppConfig


class EmissionConfig(AppConfig):
    name = "emission"
    verbose_name = "Emisión de documentos"
