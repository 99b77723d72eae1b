import pytest
from django.urls import reverse

from aether.celery import app as celery_app


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_names_the_broker_when_it_does_not_answer(client):
    original = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get(reverse("healthz"))
    finally:
        celery_app.conf.broker_url = original

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"]) == ("unavailable", "ok")
    assert "refused" in body["broker"].lower() or "error" in body["broker"].lower()


def test_healthz_names_the_database_when_it_does_not_answer(client):
    # No database access is allowed in this test, so the query fails as it would with the server down.
    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json()["database"] != "ok"
    assert response.json()["broker"] == "ok"
