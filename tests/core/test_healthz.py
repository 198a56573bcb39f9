"""/healthz reports the database and the broker."""

import pytest


@pytest.mark.django_db
def test_healthz_ok_in_eager_mode(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "eager"}


@pytest.mark.django_db
def test_healthz_503_when_broker_is_down(client, settings):
    from openfactura_app.celery import app

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    app.conf.broker_url = settings.CELERY_BROKER_URL
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = None
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "down"}


def test_home_page_is_spanish(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Abrir la aplicación" in response.content.decode()
