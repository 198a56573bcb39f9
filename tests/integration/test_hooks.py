"""Hooks registered idempotently, checked periodically, deleted on disconnect."""

from __future__ import annotations

import pytest
import responses
from django.core.cache import cache
from responses import matchers

from integration import services, tasks
from integration.models import Store, StoreHook

from .conftest import API, PUBLIC, make_store

pytestmark = pytest.mark.django_db

URL = f"{PUBLIC}/jumpseller/webhooks/"


def hook(hook_id: int, event: str, url: str = URL) -> dict:
    return {"hook": {"id": hook_id, "name": None, "event": event, "url": url, "application_id": 4242}}


def expect_create(event: str, hook_id: int):
    return responses.post(
        f"{API}/hooks.json",
        json=hook(hook_id, event),
        match=[matchers.json_params_matcher({"hook": {"event": event, "url": URL}})],
    )


@responses.activate
def test_only_missing_hooks_are_created_and_their_ids_kept(store):
    responses.get(
        f"{API}/hooks.json", json=[hook(11, "order_paid"), hook(12, "order_updated", "https://other.app/x")]
    )
    canceled = expect_create("order_canceled", 13)
    paid = expect_create("order_paid", 99)
    rows = services.store_hooks_ensure(store_id=store.pk)
    assert sorted((row.event, row.hook_id) for row in rows) == [("order_canceled", 13), ("order_paid", 11)]
    assert canceled.call_count == 1 and paid.call_count == 0
    assert not [
        c for c in responses.calls if c.request.method == "DELETE"
    ]  # the other app's hook is not ours


@responses.activate
def test_a_second_run_changes_nothing(store):
    responses.get(f"{API}/hooks.json", json=[hook(11, "order_paid"), hook(13, "order_canceled")])
    services.store_hooks_ensure(store_id=store.pk)
    services.store_hooks_ensure(store_id=store.pk)
    assert [c.request.method for c in responses.calls] == ["GET", "GET"]
    assert StoreHook.objects.count() == 2


@responses.activate
def test_the_periodic_check_recreates_a_hook_deleted_in_jumpseller(store):
    StoreHook.objects.create(store=store, event="order_paid", url=URL, hook_id=11)
    StoreHook.objects.create(store=store, event="order_canceled", url=URL, hook_id=13)
    responses.get(f"{API}/hooks.json", json=[hook(13, "order_canceled")])
    created = expect_create("order_paid", 21)
    assert tasks.ensure_hooks.apply().get() == {"ok": 1, "failed": 0}
    assert created.call_count == 1
    assert StoreHook.objects.get(event="order_paid").hook_id == 21


@responses.activate
def test_our_hooks_at_an_old_address_and_repeated_ones_are_deleted(store):
    StoreHook.objects.create(
        store=store, event="order_paid", url="https://old.app/jumpseller/webhooks/", hook_id=5
    )
    responses.get(
        f"{API}/hooks.json",
        json=[
            hook(5, "order_paid", "https://old.app/jumpseller/webhooks/"),
            hook(13, "order_canceled"),
            hook(14, "order_canceled"),
        ],
    )
    expect_create("order_paid", 21)
    deleted = [
        responses.delete(f"{API}/hooks/5.json", json="Hook deleted."),
        responses.delete(f"{API}/hooks/14.json", status=404, json={"message": "Not Found"}),
    ]
    services.store_hooks_ensure(store_id=store.pk)
    assert [d.call_count for d in deleted] == [1, 1]
    assert sorted(StoreHook.objects.values_list("event", "hook_id", "url")) == [
        ("order_canceled", 13, URL),
        ("order_paid", 21, URL),
    ]


@responses.activate
def test_a_run_in_progress_for_the_store_is_not_repeated(store):
    cache.add(f"integration:hooks-ensure:{store.pk}", 1, 60)
    assert services.store_hooks_ensure(store_id=store.pk) == []
    assert len(responses.calls) == 0


@responses.activate
def test_the_periodic_check_skips_disconnected_stores_and_survives_failures():
    failing = make_store("tienda-falla", access_token="access-falla")
    ok = make_store("tienda-ok", access_token="access-ok")
    make_store("tienda-off", status=Store.Status.DISCONNECTED)
    make_store("tienda-bye", status=Store.Status.UNINSTALLED)
    responses.get(
        f"{API}/hooks.json",
        status=500,
        match=[matchers.header_matcher({"Authorization": "Bearer access-falla"})],
    )
    responses.get(
        f"{API}/hooks.json",
        json=[hook(1, "order_paid"), hook(2, "order_canceled")],
        match=[matchers.header_matcher({"Authorization": "Bearer access-ok"})],
    )
    assert services.stores_hooks_ensure() == {"ok": 1, "failed": 1}
    assert StoreHook.objects.filter(store=ok).count() == 2
    assert StoreHook.objects.filter(store=failing).count() == 0


@responses.activate
def test_disconnect_deletes_our_hooks_and_secrets_and_keeps_everything_else(store):
    from integration.models import WebhookEvent

    StoreHook.objects.create(store=store, event="order_paid", url=URL, hook_id=11)
    StoreHook.objects.create(store=store, event="order_canceled", url=URL, hook_id=13)
    WebhookEvent.objects.create(store=store, event="order_paid", order_id=1, dedupe_key="order_paid:1")
    deleted = [
        responses.delete(f"{API}/hooks/11.json", json="Hook deleted."),
        responses.delete(f"{API}/hooks/13.json", status=404, json={"message": "Not Found"}),
    ]
    services.store_disconnect(store_id=store.pk)
    assert [d.call_count for d in deleted] == [1, 1]
    store.refresh_from_db()
    assert store.status == Store.Status.UNINSTALLED
    assert (store.access_token, store.refresh_token, store.hooks_token, store.token_expires_at) == (
        "",
        "",
        "",
        None,
    )
    assert store.name == "Tienda Ñuñoa" and store.code == "tienda-nunoa"
    assert StoreHook.objects.count() == 0
    assert WebhookEvent.objects.filter(store=store).count() == 1


@responses.activate
def test_disconnect_without_access_left_still_forgets_the_secrets():
    store = make_store(status=Store.Status.DISCONNECTED, access_token="", refresh_token="")
    StoreHook.objects.create(store=store, event="order_paid", url=URL, hook_id=11)
    services.store_disconnect(store_id=store.pk)
    assert len(responses.calls) == 0
    store.refresh_from_db()
    assert store.status == Store.Status.UNINSTALLED and store.hooks_token == ""
