"""Fake OpenFactura (Haulmer) API for the built-in sandbox."""
