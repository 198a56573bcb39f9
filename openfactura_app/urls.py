"""URL map. Each app owns its own ``urls.py``; the sandbox is mounted only when ``SANDBOX`` is on."""

from django.conf import settings
from django.urls import include, path

from core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("jumpseller/", include("integration.urls")),
    path("app/", include("merchant.urls")),
    path("documento/", include("selfservice.urls")),
    path("", include("emission.urls")),
]

if settings.SANDBOX:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))

# The product's error pages (core.errors): Spanish, in the layout of the URL's audience.
handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
