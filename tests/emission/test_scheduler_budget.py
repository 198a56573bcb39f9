"""The scheduler's bookings against OpenFactura's two windows (issue 16): a request OpenFactura refuses with
429 gives its minute slot back, so one refusal never pushes a store's backlog into one more minute."""

from __future__ import annotations

import pytest

from core import ratelimit
from emission.models import Document, DocumentState, EmissionAttempt
from emission.services.configuration import emission_settings_for
from emission.services.documents import openfactura_budget_key_for
from tests import flows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def memory_budget(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    ratelimit._memory.logs.clear()
    ratelimit._memory.members.clear()
    yield
    ratelimit._memory.logs.clear()
    ratelimit._memory.members.clear()


@pytest.fixture
def shop(sandbox, http, settings, memory_budget):
    return flows.installed_store(http, sandbox, settings, "ventanas", "Tienda Ventanas")


def _minute_bookings(shop) -> int:
    key = openfactura_budget_key_for(emission_settings_for(store_id=shop.pk))
    minute = ratelimit._keys(key, ratelimit.OPENFACTURA_LIMITS)[1]
    return len(ratelimit._memory.logs.get(minute, ()))


def test_a_refused_request_gives_its_minute_slot_back(sandbox, http, shop):
    flows.create_order(http, sandbox, "ventanas", flows.example_order("afecta", id=9601))
    flows.create_order(http, sandbox, "ventanas", flows.example_order("afecta", id=9602))
    flows.pay(http, sandbox, "ventanas", 9601)  # the issuer read and the first boleta: two requests
    assert _minute_bookings(shop) == 2

    flows.faults(http, sandbox, status=429, scope="emit", count=1)
    flows.pay(http, sandbox, "ventanas", 9602)  # refused once (Retry-After 1 s), then emitted

    document = Document.objects.get(store=shop, order_id=9602)
    assert document.state == DocumentState.EMITTED
    outcomes = list(EmissionAttempt.objects.filter(document=document).values_list("outcome", flat=True))
    assert outcomes == ["rate_limited", "emitted"]
    # Four requests left, OpenFactura took three: the minute budget counts the three.
    assert _minute_bookings(shop) == 3
    assert document.attempts == 1  # the refusal counted no attempt towards a pause


def test_a_stores_issuer_is_read_once_while_its_first_documents_are_built_in_parallel(
    shop, monkeypatch, settings
):
    """Several worker slots build a store's first documents at once: only one reads the issuer (one
    request of the key's budget); the others defer without calling OpenFactura and then use what it kept."""
    from django.core.cache import cache

    from emission.client import OpenFacturaRateLimited
    from emission.models import EmissionSettings
    from emission.services import configuration

    EmissionSettings.objects.filter(store=shop).update(organization={})
    reads: list[int] = []
    real = configuration.organization_refresh

    def counted(*, cfg):
        reads.append(cfg.store_id)
        return real(cfg=cfg)

    monkeypatch.setattr(configuration, "organization_refresh", counted)
    lock = f"emission:organization-read:{shop.pk}"
    assert cache.add(lock, 1, timeout=60)  # another slot is reading it now
    with pytest.raises(OpenFacturaRateLimited) as deferred:
        configuration.dte_settings_for(emission_settings_for(store_id=shop.pk))
    assert deferred.value.status is None  # our own pacing: OpenFactura was not called
    assert deferred.value.retry_after == configuration.ORGANIZATION_READ_WAIT
    assert reads == []

    cache.delete(lock)  # that read is over and kept: the deferred build finds it without a request
    assert configuration.dte_settings_for(emission_settings_for(store_id=shop.pk)).organization
    assert configuration.dte_settings_for(emission_settings_for(store_id=shop.pk)).organization
    assert reads == [shop.pk]
