"""App config for ``merchant``."""

from django.apps import AppConfig


class MerchantConfig(AppConfig):
    name = "merchant"
    verbose_name = "Páginas del comercio"

    def ready(self) -> None:
        # Register the background-job task and its runners in every process (web included): job_start
        # publishes the task by name and the pages read the runners' labels.
        from merchant import jobs

        jobs.runners_load()
