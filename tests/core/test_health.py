import pytest
from django.test import override_settings


@pytest.mark.django_db
def test_health_reports_every_part_up(client, celery_worker):
    response = client.get("/health/")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["redis"] == "ok"
    assert checks["workers"].startswith("ok (")


@pytest.mark.django_db
def test_health_answers_503_naming_redis_when_it_is_down(client):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("down")
    assert body["checks"]["workers"].startswith("unknown")
