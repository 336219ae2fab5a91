import threading

import pytest
from django.db import connection

from core.models import IdempotencyRecord
from declarations.models import Declaration, DeclarationEvent
from tests.factories import api_payload, make_declaration


@pytest.mark.django_db
def test_a_retried_create_returns_the_first_declaration(cast, api):
    client = api.as_user(cast.trader_a)
    first = client.post(
        "/api/v1/declarations/", api_payload(), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = client.post(
        "/api/v1/declarations/", api_payload(), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Declaration.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_a_different_body_is_refused(cast, api):
    client = api.as_user(cast.trader_a)
    client.post("/api/v1/declarations/", api_payload(), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = client.post(
        "/api/v1/declarations/", api_payload(invoice_number="OTHER"), format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )  # fmt: skip
    assert other.status_code == 422
    assert "different request" in other.json()["detail"]
    assert Declaration.objects.count() == 1


@pytest.mark.django_db
def test_a_failed_request_is_not_remembered(cast, api):
    client = api.as_user(cast.trader_a)
    bad = client.post(
        "/api/v1/declarations/", api_payload(currency="XYZ"), format="json",
        HTTP_IDEMPOTENCY_KEY="k-3",
    )  # fmt: skip
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_keys_belong_to_their_user(cast, api):
    api.as_user(cast.trader_a).post(
        "/api/v1/declarations/", api_payload(), format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    response = api.as_user(cast.trader_b).post(
        "/api/v1/declarations/", api_payload(), format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    assert response.status_code == 201
    assert Declaration.objects.count() == 2


@pytest.mark.django_db
def test_a_retried_submit_lodges_once(cast, api, django_capture_on_commit_callbacks):
    declaration = make_declaration(actor=cast.trader_a)
    client = api.as_user(cast.trader_a)
    url = f"/api/v1/declarations/{declaration.pk}/submit/"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = client.post(url, HTTP_IDEMPOTENCY_KEY="submit-1")
        again = client.post(url, HTTP_IDEMPOTENCY_KEY="submit-1")
    assert first.status_code == again.status_code == 202
    assert len(callbacks) == 1
    assert (
        DeclarationEvent.objects.filter(declaration=declaration, to_status="submitted").count() == 1
    )


def post_twice_at_once(user, body: dict, **headers) -> list:
    """The same filing sent by two clients of the user at the same moment."""
    from rest_framework.test import APIClient

    from accounts.services import api_token_issue

    _, token = api_token_issue(user=user)
    responses, barrier = [], threading.Barrier(2)

    def send():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        barrier.wait()
        responses.append(client.post("/api/v1/declarations/", body, format="json", **headers))
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_file_once(cast):
    """Two clients send the same key at the same moment: one files, the other replays."""
    responses = post_twice_at_once(cast.trader_a, api_payload(), HTTP_IDEMPOTENCY_KEY="race")
    assert sorted(r.status_code for r in responses) == [201, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert Declaration.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_filings_of_one_invoice_at_the_same_moment_store_one(cast):
    """No key, same invoice, sent at once: the database keeps one, the other is told why."""
    # Drafts: a lodgement would queue scoring for the suite's worker.
    responses = post_twice_at_once(cast.trader_a, api_payload(invoice_number="RACE-1"))
    assert sorted(r.status_code for r in responses) == [201, 400]
    refused = next(r for r in responses if r.status_code == 400).json()
    stored = Declaration.objects.get()
    assert refused["fields"]["invoice_number"] == [
        f"Invoice RACE-1 is already declared in {stored.reference}."
    ]
    assert stored.items.count() == 1
