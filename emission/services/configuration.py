"""The store's emission settings, its OpenFactura client and the issuer data the DTE engine needs."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.utils import timezone

from emission.client import (
    OpenFacturaClient,
)
from emission.dte import (
    StoreDteSettings,
)
from emission.models import (
    EmissionSettings,
)
from emission.services.state import DEMO_API_KEY

logger = logging.getLogger(__name__)


def emission_settings_for(*, store_id: int) -> EmissionSettings:
    """The store's emission settings; the first call creates them: demo company, mode 2."""
    row, _ = EmissionSettings.objects.get_or_create(store_id=store_id)
    return row


def openfactura_client_for(cfg: EmissionSettings) -> OpenFacturaClient:
    """Demo mode (or no key yet) talks to OpenFactura's demo environment with its public demo key."""
    from core.ratelimit import throttle_openfactura

    demo = cfg.demo_mode or not cfg.api_key
    return OpenFacturaClient(
        api_key=DEMO_API_KEY if demo else cfg.api_key,
        base_url=settings.OPENFACTURA_DEMO_URL if demo else settings.OPENFACTURA_URL,
        timeout=settings.OPENFACTURA_TIMEOUT,
        throttle=throttle_openfactura,
    )


def organization_refresh(*, cfg: EmissionSettings) -> dict[str, Any]:
    """Re-read the issuer (``GET /v2/dte/organization``) and keep it for building documents."""
    organization = openfactura_client_for(cfg).organization()
    cfg.organization = organization
    cfg.organization_fetched_at = timezone.now()
    cfg.save(update_fields=["organization", "organization_fetched_at", "updated_at"])
    return organization


def dte_settings_for(cfg: EmissionSettings) -> StoreDteSettings:
    if not cfg.organization:
        organization_refresh(cfg=cfg)
    return StoreDteSettings(
        organization=cfg.organization,
        acteco=cfg.acteco or None,
        sucursal=cfg.sucursal or None,
        untaxed_items=cfg.untaxed_items,
    )
