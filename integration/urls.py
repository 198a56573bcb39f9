"""URLs under ``/jumpseller/`` (App URL, OAuth callback, webhooks)."""

urlpatterns: list = []
