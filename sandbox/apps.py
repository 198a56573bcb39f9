"""App config for ``sandbox`` (installed only when ``SANDBOX`` is on)."""

from django.apps import AppConfig
from django.conf import settings
from django.core import mail
from django.db import connections
from django.db.models.signals import post_migrate


def seed_on_migrate() -> bool:
    """``SANDBOX_SEED_ON_MIGRATE`` if set; by default on, except in Django's test environment (which
    gives ``django.core.mail`` an ``outbox``): tests make the stores they need."""
    return bool(getattr(settings, "SANDBOX_SEED_ON_MIGRATE", not hasattr(mail, "outbox")))


def seed_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """After ``migrate``, the demo store exists, so that a server started by hand (``migrate`` then
    ``runserver``, as acceptance checks do) offers it in the fake authorize form like ``./run`` does.

    Skipped while the sandbox's tables are not there yet (``migrate`` of another app only).
    """
    if not seed_on_migrate():
        return
    from .models import Order, Store
    from .seed import seed_demo

    tables = set(connections[using].introspection.table_names())
    if {Store._meta.db_table, Order._meta.db_table} <= tables:
        seed_demo()


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Sandbox"

    def ready(self) -> None:
        post_migrate.connect(seed_after_migrate, sender=self, dispatch_uid="sandbox_seed_demo")
