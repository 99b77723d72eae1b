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
def test_healthz_names_the_broker_when_it_does_not_answer(client, caplog):
    original = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get(reverse("healthz"))
    finally:
        celery_app.conf.broker_url = original

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "down"}
    # The detail (which host, what error) is for the log only.
    assert "127.0.0.1" not in response.content.decode()
    (record,) = [r for r in caplog.records if r.name == "aether.views"]
    assert record.getMessage() == "healthz: the broker does not answer"
    assert record.exc_info is not None


def test_healthz_names_the_database_when_it_does_not_answer(client, caplog):
    # No database access is allowed in this test, so the query fails as it would with the server down.
    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down", "broker": "ok"}
    (record,) = [r for r in caplog.records if r.name == "aether.views"]
    assert record.getMessage() == "healthz: the database does not answer"
    assert "Database access not allowed" in str(record.exc_info[1])
