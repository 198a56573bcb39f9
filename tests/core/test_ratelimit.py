"""Sliding-window budgets: never more than N requests in any window, shared through Redis."""

import os
import threading
import time

import pytest

from core import ratelimit


@pytest.fixture
def memory_budget(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    ratelimit._memory.logs.clear()


def test_memory_admits_burst_then_asks_to_wait(memory_budget):
    limits = ((3, 1.0),)
    assert [ratelimit.try_acquire("k", limits, now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert ratelimit.try_acquire("k", limits, now=100.2) == pytest.approx(0.8)
    assert ratelimit.try_acquire("k", limits, now=101.0) == 0.0


def test_memory_every_limit_must_allow(memory_budget):
    limits = ((3, 1.0), (4, 60.0))
    for now in (0.0, 0.1, 0.2, 5.0):
        assert ratelimit.try_acquire("k", limits, now=now) == 0.0
    assert ratelimit.try_acquire("k", limits, now=10.0) == pytest.approx(50.0)


def test_acquire_raises_past_max_wait(memory_budget):
    limits = ((1, 60.0),)
    ratelimit.acquire("x", limits)
    with pytest.raises(ratelimit.BudgetExhausted) as info:
        ratelimit.acquire("x", limits, max_wait=1.0, sleep=lambda s: None)
    assert info.value.retry_after > 59


@pytest.fixture
def redis_budget(settings):
    url = os.environ.get("TEST_CELERY_BROKER_URL")
    if not url:
        pytest.skip("no Redis (TEST_CELERY_BROKER_URL)")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter("of:rl:test-*"):
        client.delete(key)
    return client


def test_redis_budget_shared_by_threads_never_exceeds_window(redis_budget):
    """16 threads hammer one key for ~1.6 s: no 1-second window ever holds more than 3 admissions."""
    admitted: list[float] = []
    lock = threading.Lock()
    key = f"test-{time.time_ns()}"

    def worker():
        deadline = time.time() + 1.6
        while time.time() < deadline:
            if ratelimit.try_acquire(key, ((3, 1.0),)) == 0.0:
                with lock:
                    admitted.append(time.time())
            time.sleep(0.01)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    admitted.sort()
    assert 4 <= len(admitted) <= 6
    for i, t in enumerate(admitted):
        in_window = [u for u in admitted[i:] if u - t < 0.95]
        assert len(in_window) <= 3
