"""App config for the fake OpenFactura (label ``sandbox_openfactura``)."""

from django.apps import AppConfig


class SandboxOpenFacturaConfig(AppConfig):
    name = "sandbox.openfactura"
    label = "sandbox_openfactura"
    verbose_name = "Sandbox OpenFactura"
