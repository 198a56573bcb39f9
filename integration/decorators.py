"""The merchant session and the pages that live inside Jumpseller's admin iframe.

Jumpseller gives the app no signed context when the admin opens it (jumpseller-api.md §1.5 [GAP]): the
session is established by the OAuth round trip (:func:`merchant_login`) and kept in the session cookie,
which production sends as ``SameSite=None; Secure`` so that it works inside the iframe.

Embeddable pages drop ``X-Frame-Options`` (the project default is DENY) and send
``Content-Security-Policy: frame-ancestors 'self' <JUMPSELLER_ADMIN_ORIGINS>`` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.clickjacking import xframe_options_exempt

from . import selectors
from .models import Store

SESSION_STORE_ID = "store_id"
SESSION_STORE_CODE = "store_code"


def frame_ancestors() -> str:
    return " ".join(["frame-ancestors", "'self'", *settings.JUMPSELLER_ADMIN_ORIGINS])


def embeddable(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let Jumpseller's admin (and only it) frame the page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = frame_ancestors()
        return response

    return xframe_options_exempt(wrapper)


def merchant_login(request: HttpRequest, store: Store) -> None:
    """Start a merchant session for ``store`` (a new session key: no fixation)."""
    if request.session.get(SESSION_STORE_ID) not in (None, store.pk):
        request.session.flush()
    else:
        request.session.cycle_key()
    request.session[SESSION_STORE_ID] = store.pk
    request.session[SESSION_STORE_CODE] = store.code


def merchant_logout(request: HttpRequest) -> None:
    request.session.flush()


def merchant_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Set ``request.store`` from the merchant session, or send the browser to the App URL (OAuth).

    Also ``request.store_demo_mode`` (True, False or None when unknown) for the pages' banner.

    A store the merchant disconnected (uninstalled) ends the session.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        store = selectors.store_for_session(session=request.session)
        if store is None or store.status == Store.Status.UNINSTALLED:
            if store is not None:
                merchant_logout(request)
            return redirect("integration:app_url")
        request.store = store
        request.store_demo_mode = selectors.store_demo_mode(store=store)
        return view(request, *args, **kwargs)

    return embeddable(wrapper)


def store_object_or_404(request: HttpRequest, model: type[Model] | QuerySet, **lookup) -> Model:
    """``get_object_or_404`` scoped to the merchant's store: another store's object is a 404."""
    return get_object_or_404(model, store=request.store, **lookup)
