"""App config for ``integration``."""

from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = "Integración Jumpseller"

    def ready(self) -> None:
        # Register the Celery tasks in every process (web included): services publish them by name.
        from integration import tasks  # noqa: F401
