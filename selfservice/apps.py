"""App config for ``selfservice``."""

from django.apps import AppConfig


class SelfserviceConfig(AppConfig):
    name = "selfservice"
    verbose_name = "Autoservicio del cliente"
