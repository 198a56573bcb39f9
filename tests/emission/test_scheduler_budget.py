"""The scheduler's use of an OpenFactura key's budget (issue 16): a store's first documents, built in
parallel by several worker slots, read the issuer once, not once each."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from emission.client import OpenFacturaRateLimited
from emission.models import EmissionSettings
from emission.services import configuration
from emission.services.configuration import emission_settings_for
from tests import flows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(sandbox, http, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    store = flows.installed_store(http, sandbox, settings, "ventanas", "Tienda Ventanas")
    EmissionSettings.objects.filter(store=store).update(organization={})  # never read yet
    return store


@pytest.fixture
def reads(monkeypatch) -> list[int]:
    """The stores whose issuer was read from OpenFactura (``GET /v2/dte/organization``)."""
    done: list[int] = []
    real = configuration.organization_refresh

    def counted(*, cfg):
        done.append(cfg.store_id)
        return real(cfg=cfg)

    monkeypatch.setattr(configuration, "organization_refresh", counted)
    return done


def test_while_another_slot_reads_the_issuer_a_build_defers_without_calling_openfactura(shop, reads):
    lock = f"emission:organization-read:{shop.pk}"
    assert cache.add(lock, "another slot", timeout=60)
    with pytest.raises(OpenFacturaRateLimited) as deferred:
        configuration.dte_settings_for(emission_settings_for(store_id=shop.pk))
    assert deferred.value.status is None  # our own pacing: OpenFactura was not called
    assert deferred.value.retry_after == configuration.ORGANIZATION_READ_WAIT
    assert reads == []
    assert cache.get(lock) == "another slot"  # the deferred build leaves the reader's lock alone


def test_a_build_that_loaded_its_settings_before_another_kept_the_issuer_does_not_read_it_again(shop, reads):
    # Two slots load the store's settings, then each re-reads its order from Jumpseller; the first to
    # build reads and keeps the issuer and releases the lock before the second builds.
    first, second = emission_settings_for(store_id=shop.pk), emission_settings_for(store_id=shop.pk)
    assert configuration.dte_settings_for(first).organization
    assert not second.organization  # loaded before the issuer was kept
    assert configuration.dte_settings_for(second).organization == first.organization
    assert configuration.dte_settings_for(emission_settings_for(store_id=shop.pk)).organization
    assert reads == [shop.pk]
