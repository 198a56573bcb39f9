"""Jumpseller OAuth 2 (authorization-code grant), jumpseller-api.md §1.2.

* authorize: ``{JUMPSELLER_ACCOUNTS_URL}/oauth/authorize?client_id&redirect_uri&response_type=code&scope
  &state`` (scopes separated by spaces);
* token: ``POST {JUMPSELLER_ACCOUNTS_URL}/oauth/token`` with ``grant_type=authorization_code`` (code and
  redirect_uri) or ``grant_type=refresh_token``, client id and secret in the form body. The answer is
  ``{"access_token", "token_type", "expires_in": 3600, "refresh_token", "created_at", "scope"?}``;
  expiry = ``created_at + expires_in`` (as LOY computes it). Whether the refresh token rotates is a
  [GAP]: the caller persists the one returned by every refresh.

Errors (Doorkeeper): ``400 invalid_grant`` → :class:`JumpsellerInvalidGrant` (the store revoked or
uninstalled the app); ``401 invalid_client`` → :class:`JumpsellerInvalidClient` (our credentials).
Token requests are not retried (a refresh that reached Jumpseller may have rotated the token), except
when the connection was never made. This module imports no models; tokens are never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings

from .client import (
    DEFAULT_TIMEOUT,
    JumpsellerError,
    JumpsellerInvalidClient,
    JumpsellerInvalidGrant,
    JumpsellerPermanentError,
    JumpsellerTransientError,
    backoff,
    parse_body,
    raise_for_status,
    send,
    sleep_for,
)

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/jumpseller/callback"
WEBHOOK_PATH = "/jumpseller/webhooks/"


def callback_url() -> str:
    """The Redirect URL registered for the app (pinned)."""
    return f"{settings.PUBLIC_BASE_URL}{CALLBACK_PATH}"


def webhook_url() -> str:
    """Where the app's hooks point (pinned)."""
    return f"{settings.PUBLIC_BASE_URL}{WEBHOOK_PATH}"


def scopes() -> str:
    return " ".join(settings.JUMPSELLER_SCOPES.split())


def authorize_url(*, state: str) -> str:
    query = urlencode(
        {
            "client_id": settings.JUMPSELLER_CLIENT_ID,
            "redirect_uri": callback_url(),
            "response_type": "code",
            "scope": scopes(),
            "state": state,
        }
    )
    return f"{settings.JUMPSELLER_ACCOUNTS_URL}/oauth/authorize?{query}"


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    scope: str = ""


def _token_set(data: Any, *, now: datetime) -> TokenSet:
    if not isinstance(data, dict) or not data.get("access_token") or not data.get("refresh_token"):
        raise JumpsellerPermanentError("Respuesta de /oauth/token sin tokens")
    try:
        expires_in = int(data.get("expires_in") or 3600)
    except (TypeError, ValueError):
        expires_in = 3600
    issued = now
    created = data.get("created_at")
    if isinstance(created, int | float) and not isinstance(created, bool):
        # Never later than now: a clock ahead of ours must not make us trust a token for longer.
        issued = min(now, datetime.fromtimestamp(created, tz=UTC))
    return TokenSet(
        access_token=str(data["access_token"]),
        refresh_token=str(data["refresh_token"]),
        expires_at=issued + timedelta(seconds=expires_in),
        scope=" ".join(str(data.get("scope") or "").split()),
    )


class JumpsellerOAuth:
    """The token endpoint of Jumpseller's accounts server, for this app's client credentials."""

    def __init__(
        self,
        *,
        accounts_url: str,
        client_id: str,
        client_secret: str,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.accounts_url = accounts_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.timeout = timeout
        self.session = session or requests.Session()
        self._sleep = sleep if sleep is not None else sleep_for

    def __repr__(self) -> str:  # never show the secret
        return f"JumpsellerOAuth(accounts_url={self.accounts_url!r})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> JumpsellerOAuth:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @classmethod
    def from_settings(cls, **kwargs: Any) -> JumpsellerOAuth:
        return cls(
            accounts_url=settings.JUMPSELLER_ACCOUNTS_URL,
            client_id=settings.JUMPSELLER_CLIENT_ID,
            client_secret=settings.JUMPSELLER_CLIENT_SECRET,
            **kwargs,
        )

    def _token(self, grant: dict[str, str]) -> TokenSet:
        form = {**grant, "client_id": self.client_id, "client_secret": self._client_secret}
        url = f"{self.accounts_url}/oauth/token"
        for attempt in range(3):
            try:
                response = send(
                    self.session,
                    "POST",
                    url,
                    timeout=self.timeout,
                    data=form,
                    headers={"Accept": "application/json"},
                )
                break
            except JumpsellerTransientError as exc:
                if not exc.not_sent or attempt == 2:
                    raise
                self._sleep(backoff(attempt))
        logger.info("jumpseller oauth %s -> %s", grant["grant_type"], response.status_code)
        if response.status_code in (400, 401):
            body = parse_body(response)
            error = body.get("error") if isinstance(body, dict) else None
            if error == "invalid_grant":
                raise JumpsellerInvalidGrant("Jumpseller rechazó la autorización (invalid_grant)", status=400)
            if error == "invalid_client" or response.status_code == 401:
                raise JumpsellerInvalidClient(
                    "Jumpseller rechazó las credenciales de la aplicación (invalid_client)",
                    status=response.status_code,
                )
            raise JumpsellerPermanentError(
                f"Jumpseller rechazó la solicitud de token ({error or response.status_code})",
                status=response.status_code,
            )
        try:
            data = raise_for_status(response)
        except JumpsellerError as exc:
            exc.body = None  # a token endpoint's body is never kept
            raise
        return _token_set(data, now=datetime.now(UTC))

    def exchange_code(self, *, code: str, redirect_uri: str) -> TokenSet:
        """``grant_type=authorization_code``."""
        return self._token({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})

    def refresh(self, *, refresh_token: str) -> TokenSet:
        """``grant_type=refresh_token``. Persist the refresh token of the result: it may have rotated."""
        return self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})
