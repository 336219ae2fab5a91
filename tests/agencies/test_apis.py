"""The review actions through the API and the pages: same services, same refusals."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agencies.models import Query, Review
from declarations.models import Declaration
from tests.agencies.conftest import MEAT, PHONES, review_of

pytestmark = pytest.mark.django_db


def test_an_officer_works_a_review_through_the_api(cast, api, reviewed):
    declaration = reviewed()
    review = review_of(declaration, cast.food)
    client = api.as_user(cast.food_officer)
    response = client.post(f"/api/v1/reviews/{review.pk}/claim/")
    assert (response.status_code, response.json()["assigned_to"]) == (200, "food_officer")

    response = client.post(f"/api/v1/reviews/{review.pk}/queries/", {"question": "Which plant?"})
    assert response.status_code == 201
    query_id = response.json()["id"]
    assert Declaration.objects.get(pk=declaration.pk).status == "queried"

    trader = api.as_user(cast.trader_a)
    listed = trader.get("/api/v1/queries/?open=1").json()["results"]
    assert [q["id"] for q in listed] == [query_id]
    response = trader.post(f"/api/v1/queries/{query_id}/answer/", {"answer": "KR-123"})
    assert (response.status_code, response.json()["answer"]) == (200, "KR-123")
    assert Declaration.objects.get(pk=declaration.pk).status == "under_review"

    client = api.as_user(cast.food_officer)
    response = client.post(f"/api/v1/reviews/{review.pk}/approve/", {"conditions": "Cold chain"})
    body = response.json()
    assert (response.status_code, body["status"], body["conditions"]) == (
        200,
        "approved",
        "Cold chain",
    )
    assert body["queries"][0]["answer"] == "KR-123"


def test_a_second_decision_gets_a_409_naming_who_decided(cast, api, reviewed):
    review = review_of(reviewed(), cast.food)
    api.as_user(cast.food_officer).post(f"/api/v1/reviews/{review.pk}/approve/", {})
    response = api.as_user(cast.food_officer).post(
        f"/api/v1/reviews/{review.pk}/reject/", {"reason": "late"}
    )
    assert response.status_code == 409
    assert response.json()["detail"].startswith("This review was already approved by food_officer")


def test_a_rejection_without_reason_names_the_field(cast, api, reviewed):
    review = review_of(reviewed(), cast.food)
    response = api.as_user(cast.food_officer).post(f"/api/v1/reviews/{review.pk}/reject/", {})
    assert response.status_code == 400
    assert "reason" in response.json()["fields"]


def test_customs_inspects_permits_and_lane_through_the_api(cast, api, reviewed):
    declaration = reviewed(lane="green")
    customs = review_of(declaration, cast.customs)
    client = api.as_user(cast.supervisor)
    response = client.post(
        f"/api/v1/reviews/{customs.pk}/lane/", {"lane": "red", "reason": "Tip-off"}
    )
    assert (response.status_code, response.json()["lane"]) == (200, "red")
    response = api.as_user(cast.customs_officer).post(
        f"/api/v1/reviews/{customs.pk}/inspections/",
        {
            "kind": "physical",
            "finding": "misdeclared_value",
            "items": [1],
            "revenue_difference": "980.50",
        },
        format="json",
    )
    assert (response.status_code, response.json()["finding"]) == (201, "misdeclared_value")
    assert response.json()["items"] == [1]
    duties = api.as_user(cast.trader_a).get(f"/api/v1/declarations/{declaration.pk}/").json()
    assert duties["duties"]["reassessed"] == "980.50"
    response = api.as_user(cast.customs_officer).post(
        f"/api/v1/reviews/{customs.pk}/lane/", {"lane": "green", "reason": "mine"}
    )
    assert response.status_code == 403  # an officer is not a supervisor

    plant = review_of(declaration, cast.plant)
    until = (timezone.localdate() + timedelta(days=30)).isoformat()
    response = api.as_user(cast.plant_officer).post(
        f"/api/v1/reviews/{plant.pk}/permits/", {"valid_until": until}
    )
    assert (response.status_code, response.json()["permit_type"]) == (
        201,
        "Phytosanitary certificate",
    )


def test_the_queue_api_filters_and_sorts_red_first(cast, api, reviewed):
    # The food agency's queue: customs' holds no green declaration, cleared without it.
    green = reviewed(lane="green", hs_codes=(MEAT,))
    red = reviewed(lane="red", hs_codes=(MEAT,))
    yellow = reviewed(lane="yellow", hs_codes=(MEAT,))
    reviewed(lane="green", hs_codes=(MEAT,), actor=cast.trader_b)
    client = api.as_user(cast.food_officer)
    body = client.get("/api/v1/reviews/").json()
    assert body["count"] == 4
    lanes = [row["lane"] for row in body["results"]]
    assert lanes == ["red", "yellow", "green", "green"]
    assert [r["declaration"] for r in body["results"][:3]] == [red.pk, yellow.pk, green.pk]
    assert client.get("/api/v1/reviews/?lane=yellow").json()["count"] == 1
    assert client.get("/api/v1/reviews/?trader=Company B").json()["count"] == 1
    assert client.get("/api/v1/reviews/?hs=0201").json()["count"] == 4
    assert client.get("/api/v1/reviews/?hs=8517").json()["count"] == 0
    assert client.get("/api/v1/reviews/?age=3").json()["count"] == 0
    Review.objects.filter(declaration=red).update(opened_at=timezone.now() - timedelta(days=4))
    assert client.get("/api/v1/reviews/?age=3").json()["count"] == 1
    client.post(f"/api/v1/reviews/{review_of(red, cast.food).pk}/claim/")
    assert client.get("/api/v1/reviews/?mine=1").json()["count"] == 1
    counts = client.get("/api/v1/reviews/counts/").json()
    assert counts == {
        "active": 4,
        "open": 3,
        "in_progress": 1,
        "queried": 0,
        "red": 1,
        "yellow": 1,
        "green": 2,
        "mine": 1,
    }


@pytest.mark.parametrize(("page_size", "page_rows"), [(5, 10), (20, 25)])
def test_the_queue_costs_the_same_queries_whatever_the_page_size(
    cast, api, login, reviewed, django_assert_num_queries, page_size, page_rows
):
    for n in range(22):
        reviewed(lane=("red", "yellow", "green")[n % 3], hs_codes=(MEAT,))
    client = api.as_user(cast.food_officer)
    # token, the queue's count, the page's ids, its rows: whatever the page size
    with django_assert_num_queries(4):
        response = client.get(f"/api/v1/reviews/?page_size={page_size}")
    assert len(response.json()["results"]) == page_size
    browser = login(cast.food_officer)
    # session, user, the user's agency (header), count, ids, rows; the counts
    # come from their own partial
    with django_assert_num_queries(6):
        response = browser.get(f"/queue/?page_size={page_rows}")
    assert response.content.decode().count('href="/reviews/') == min(page_rows, 22)


def test_the_review_page_shows_the_slice_and_acts_through_forms(cast, login, reviewed):
    declaration = reviewed(lane="red")
    food = review_of(declaration, cast.food)
    browser = login(cast.food_officer)
    page = browser.get(f"/reviews/{food.pk}/").content.decode()
    assert "020130" in page and "080510" in page
    assert "Documents" in page and "Record inspection" not in page  # customs' work only
    response = browser.post(f"/reviews/{food.pk}/query/", {"question": "Establishment number?"})
    assert response.status_code == 302
    assert Query.objects.get(review=food).question == "Establishment number?"
    page = browser.get(f"/reviews/{food.pk}/").content.decode()
    assert "Waiting for the trader" in page

    trader = login(cast.trader_a)
    page = trader.get(f"/declarations/{declaration.pk}/").content.decode()
    assert "Establishment number?" in page and "Send answer" in page
    query = Query.objects.get(review=food)
    response = trader.post(f"/queries/{query.pk}/answer/", {"answer": "KR-777"})
    assert response["Location"] == f"/declarations/{declaration.pk}/"
    assert Declaration.objects.get(pk=declaration.pk).status == "under_review"

    browser = login(cast.food_officer)
    browser.post(f"/reviews/{food.pk}/approve/", {"conditions": ""})
    response = browser.post(f"/reviews/{food.pk}/approve/", {"conditions": ""}, follow=True)
    assert "already approved by food_officer" in response.content.decode()


def test_the_review_page_lists_only_the_documents_of_the_agencys_items(cast, login, reviewed):
    from django.utils import timezone

    from declarations.models import Document

    declaration = reviewed(hs_codes=("020130", "080510"))
    meat, oranges = declaration.items.order_by("line_no")
    for item, name in ((meat, "meat-health-cert.pdf"), (oranges, "phyto-cert.pdf")):
        Document.objects.create(
            declaration=declaration,
            item=item,
            kind="permit",
            file=f"documents/test/{name}",
            original_name=name,
            content_type="application/pdf",
            size=10,
            sha256="0" * 64,
            uploaded_by=cast.trader_a,
            uploaded_at=timezone.now(),
        )
    plant = review_of(declaration, cast.plant)
    page = login(cast.plant_officer).get(f"/reviews/{plant.pk}/").content.decode()
    assert "phyto-cert.pdf" in page and "meat-health-cert.pdf" not in page
    food = review_of(declaration, cast.food)
    page = login(cast.food_officer).get(f"/reviews/{food.pk}/").content.decode()
    assert "phyto-cert.pdf" in page and "meat-health-cert.pdf" in page


def test_the_queue_refreshes_its_table_and_counts_without_a_reload(cast, login, reviewed):
    reviewed(lane="red", hs_codes=(PHONES,))
    reviewed(lane="yellow", hs_codes=(PHONES,))
    browser = login(cast.customs_officer)
    partial = browser.get("/queue/?lane=red", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial
    # The table polls with the filters it was drawn with, so a refresh keeps them.
    assert 'hx-get="/queue/?lane=red"' in partial
    assert partial.count('href="/reviews/') == 1
    counts = browser.get("/queue/counts/").content.decode()
    assert "<strong>2</strong> waiting" in counts
    # The page asks for the counts as soon as it shows, then keeps them fresh.
    page = browser.get("/queue/").content.decode()
    assert 'hx-get="/queue/counts/" hx-trigger="load, every 10s"' in page


def test_a_queue_longer_than_the_count_cap_says_so_and_pages_on(
    cast, api, login, reviewed, monkeypatch
):
    monkeypatch.setattr("core.pagination.COUNT_CAP", 3)
    monkeypatch.setattr("agencies.selectors.COUNT_CAP", 3)
    monkeypatch.setattr("agencies.views.COUNT_CAP", 3)
    declarations = [reviewed(lane="yellow", hs_codes=(PHONES,)) for _ in range(5)]
    client = api.as_user(cast.customs_officer)
    body = client.get("/api/v1/reviews/?page_size=2").json()
    assert (body["count"], body["count_is_capped"]) == (3, True)
    # Up to the cap, the pages follow the queue's order, oldest first.
    rows = [
        row["declaration"]
        for page in (1, 2)
        for row in client.get(f"/api/v1/reviews/?page_size=2&page={page}").json()["results"]
    ]
    assert rows == [declaration.pk for declaration in declarations[:4]]
    page = login(cast.customs_officer).get("/queue/?page_size=10").content.decode()
    assert "More than 3 reviews match" in page


def test_a_queue_age_beyond_the_calendar_is_no_server_error(cast, api, reviewed):
    # Found by schemathesis (tests/core/test_schema.py): `age` went straight into a
    # timedelta, and a huge number overflowed it (500).
    reviewed()
    client = api.as_user(cast.food_officer)
    response = client.get("/api/v1/reviews/", {"age": "99999999999"})
    assert (response.status_code, response.json()["results"]) == (200, [])


@pytest.mark.parametrize(
    ("user", "path", "params"),
    [
        ("food_officer", "/api/v1/permits/", {"q": "FOOD\x00"}),
        ("trader_a", "/api/v1/permits/", {"q": "\x00"}),
        ("food_officer", "/api/v1/reviews/", {"trader": "Company\x00A"}),
        ("supervisor", "/api/v1/lane-proposals/", {"status": "proposed\x00"}),
    ],
)
def test_a_nul_character_in_a_search_is_no_server_error(cast, api, reviewed, user, path, params):
    # Found by schemathesis (tests/core/test_schema.py): PostgreSQL refuses NUL in a
    # string, so the raw parameter reached the query and failed there (500).
    reviewed()
    response = api.as_user(getattr(cast, user)).get(path, params)
    assert response.status_code == 200, response.content[:200]
    assert isinstance(response.json()["results"], list)
