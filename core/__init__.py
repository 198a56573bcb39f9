"""Shared building blocks: encrypted fields, CLP/RUT formatting, logging context, health check."""
