"""Per-IP limits see the customer's address, also behind the compose TLS proxy, and never a forged one."""

from django.test import RequestFactory

from core.client_address import client_address


def test_behind_the_proxy_the_address_it_saw_counts(settings):
    settings.BEHIND_PROXY = True
    request = RequestFactory().get("/", REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")
    # "1.2.3.4" was written by the client; Caddy appended the peer it saw.
    assert client_address(request) == "203.0.113.7"
    assert client_address(RequestFactory().get("/", REMOTE_ADDR="172.18.0.5")) == "172.18.0.5"


def test_without_a_proxy_the_header_is_ignored(settings):
    settings.BEHIND_PROXY = False
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert client_address(request) == "198.51.100.9"
