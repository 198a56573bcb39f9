"""Every self-service test is another customer: the page's budgets (per IP, in this process) and the cached
orders (order ids repeat between tests) start and end empty, so no module spends the next one's."""

import pytest
from django.core.cache import cache

from core import ratelimit


def fresh_budgets() -> None:
    cache.clear()
    ratelimit._memory.logs.clear()


@pytest.fixture(autouse=True)
def _fresh_budgets():
    fresh_budgets()
    yield
    fresh_budgets()
