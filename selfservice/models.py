"""Self-service state: one ``Conversion`` per order (mode 2: boleta → nota de crédito → factura).

The row is the customer's request, created once (unique per store and order) with the receptor they
typed; its state only moves forward (guarded updates in ``selfservice.services``). The documents
themselves are ``emission.Document`` rows (purposes ``nc:<boleta id>`` and ``factura``), each unique
per order, so double submits, reloads and two tabs all land on the same nota and the same factura.
"""

from __future__ import annotations

from django.db import models


class ConversionState(models.TextChoices):
    NOTA_PENDING = "nota_pending", "Anulando la boleta"
    FACTURA_PENDING = "factura_pending", "Emitiendo la factura"
    DONE = "done", "Factura emitida"


class Conversion(models.Model):
    """A customer's request to replace the order's boleta by a factura."""

    store = models.ForeignKey("integration.Store", on_delete=models.CASCADE, related_name="conversions")
    order_id = models.BigIntegerField()
    boleta = models.ForeignKey("emission.Document", on_delete=models.RESTRICT, related_name="+")
    nota = models.ForeignKey(
        "emission.Document", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    factura = models.ForeignKey(
        "emission.Document", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    state = models.CharField(
        max_length=20, choices=ConversionState.choices, default=ConversionState.NOTA_PENDING
    )
    receptor = models.JSONField()  # rut, razon_social, giro, direccion, comuna, email (as validated)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "order_id"], name="conversion_once_per_order"),
        ]
        indexes = [models.Index(fields=["state", "updated_at"])]

    def __str__(self) -> str:
        return f"Conversion orden {self.order_id} ({self.state})"
