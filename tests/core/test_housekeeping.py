"""Housekeeping run by beat: expired sessions (``core.clear_sessions``) and OAuth states
(``integration.prune_oauth_states``) are deleted; live ones stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from core import tasks as core_tasks
from integration import services
from integration import tasks as integration_tasks
from integration.models import OAuthState

pytestmark = pytest.mark.django_db


def _session(key: str, *, expires_in: timedelta) -> Session:
    return Session.objects.create(
        session_key=key, session_data="e30:placeholder", expire_date=timezone.now() + expires_in
    )


def _state(name: str, *, age: timedelta, used: bool = False) -> OAuthState:
    created = timezone.now() - age
    return OAuthState.objects.create(
        state_hash=name.ljust(64, "0"), created_at=created, used_at=created if used else None
    )


def test_the_default_session_engine_is_the_database(settings):
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"


def test_clear_sessions_deletes_expired_sessions_and_keeps_live_ones():
    _session("expired-yesterday-0000000000000", expires_in=-timedelta(days=1))
    _session("expired-a-second-ago-00000000000", expires_in=-timedelta(seconds=1))
    _session("live-for-an-hour-00000000000000", expires_in=timedelta(hours=1))

    assert core_tasks.clear_sessions.apply().get() == 2

    assert list(Session.objects.values_list("session_key", flat=True)) == ["live-for-an-hour-00000000000000"]
    assert core_tasks.clear_sessions.apply().get() == 0


def test_clear_sessions_clears_a_session_saved_by_the_configured_store(settings):
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["store_id"] = 1
    store.set_expiry(-60)
    store.create()

    assert core_tasks.clear_sessions() == 1
    assert not Session.objects.exists()


def test_clear_sessions_with_signed_cookie_sessions_has_nothing_to_clear(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    _session("expired-but-not-ours-00000000000", expires_in=-timedelta(days=1))

    assert core_tasks.clear_sessions.apply().get() == 0
    assert Session.objects.count() == 1


def test_prune_oauth_states_deletes_states_past_the_validity_window_used_or_not():
    window = services.OAUTH_STATE_TTL
    _state("old-unused", age=window + timedelta(seconds=1))
    _state("old-used", age=window + timedelta(minutes=5), used=True)
    _state("day-old", age=timedelta(days=2))
    fresh = _state("fresh", age=window - timedelta(minutes=1))
    fresh_used = _state("fresh-used", age=timedelta(minutes=1), used=True)

    assert integration_tasks.prune_oauth_states.apply().get() == 3

    assert set(OAuthState.objects.values_list("pk", flat=True)) == {fresh.pk, fresh_used.pk}
    assert integration_tasks.prune_oauth_states() == 0


def test_prune_oauth_states_takes_the_window_from_now():
    now = timezone.now()
    state = _state("issued-now", age=timedelta(0))

    assert services.oauth_states_prune(now=now + services.OAUTH_STATE_TTL) == 0
    assert services.oauth_states_prune(now=now + services.OAUTH_STATE_TTL + timedelta(seconds=1)) == 1
    assert not OAuthState.objects.filter(pk=state.pk).exists()


def test_a_new_install_prunes_expired_states_too():
    _state("expired", age=services.OAUTH_STATE_TTL + timedelta(seconds=1))
    fresh = _state("fresh", age=timedelta(minutes=1))

    services.oauth_state_create()

    assert OAuthState.objects.count() == 2
    assert OAuthState.objects.filter(pk=fresh.pk).exists()


def test_beat_runs_the_housekeeping_tasks(settings):
    from openfactura_app.celery import app

    app.loader.import_default_modules()
    assert {"core.clear_sessions", "integration.prune_oauth_states"} <= set(app.tasks)
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["core.clear_sessions"] == {"task": "core.clear_sessions", "schedule": 86400.0}
    assert schedule["integration.prune_oauth_states"] == {
        "task": "integration.prune_oauth_states",
        "schedule": 3600.0,
    }
