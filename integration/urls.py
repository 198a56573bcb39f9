"""URLs under ``/jumpseller/``: App URL, OAuth callback and webhooks (pinned), and the merchant pages."""

from django.urls import path

from . import views, webhooks

app_name = "integration"

urlpatterns = [
    path("", views.app_url, name="app_url"),
    path("install", views.install, name="install"),
    path("callback", views.callback, name="callback"),
    path("webhooks/", webhooks.receive, name="webhooks"),
    path("conectar/", views.embedded_window, name="embedded_window"),
    path("conectar/estado", views.embedded_claim, name="embedded_claim"),
    path("app/sesion", views.embedded_renew, name="embedded_renew"),
    path("app/", views.merchant_home, name="merchant_home"),
    path("app/desconectar", views.merchant_disconnect, name="merchant_disconnect"),
    path("app/notificaciones/", views.merchant_events, name="merchant_events"),
    path("app/notificaciones/<int:pk>/", views.merchant_event, name="merchant_event"),
]
