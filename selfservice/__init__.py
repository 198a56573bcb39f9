"""The customer's self-service page: turn a boleta into a factura, or choose the document."""
