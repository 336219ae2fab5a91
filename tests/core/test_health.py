import pytest
from django.conf import settings
from django.test import override_settings


@pytest.mark.django_db
def test_health_reports_every_part_up(client, celery_worker):
    response = client.get("/health/")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["redis"] == "ok"
    assert checks["workers"] == f"ok (1 worker on {settings.CELERY_TASK_DEFAULT_QUEUE})"
    # What the outbox has yet to deliver, for monitoring.
    assert response.json()["outbox"] == {
        "pending": 0,
        "retrying": 0,
        "failed": 0,
        "oldest_pending_at": None,
    }


@pytest.mark.django_db
def test_health_answers_503_naming_redis_when_it_is_down(client):
    dead = "redis://127.0.0.1:1/0"
    with override_settings(REDIS_URL=dead, CELERY_BROKER_URL=dead):
        response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("down")
    assert body["checks"]["workers"].startswith("unknown")


@pytest.mark.django_db
def test_health_answers_503_when_no_worker_consumes_the_task_queue(client, celery_worker):
    # The test worker answers, but on another queue than the one tasks are sent to.
    with override_settings(CELERY_TASK_DEFAULT_QUEUE="nobody-consumes-this"):
        response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["redis"] == "ok"
    assert body["checks"]["workers"].startswith(
        "down: RuntimeError: no worker consumes queue 'nobody-consumes-this' (1 other worker"
    )


@pytest.mark.django_db
def test_health_names_the_broker_when_it_is_not_the_redis_cache(client):
    dead = "amqp://guest:guest@127.0.0.1:1//"
    with override_settings(CELERY_BROKER_URL=dead):
        response = client.get("/health/")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["redis"] == "ok"
    assert checks["broker"].startswith("down")
    assert checks["workers"] == "unknown (broker is down)"
