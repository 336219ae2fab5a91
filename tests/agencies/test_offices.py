"""Officers work the queue of their customs office: posting staff, office-scoped queues
(pages and API), another office's work answering 404, and who is told of new work."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.services import user_create, user_update
from agencies.models import Review
from agencies.services import review_claim
from clearance.services import review_approve
from notifications.models import Notification
from tests.agencies.conftest import MEAT, PHONES, review_of
from tests.conftest import login_request
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def airport_officer(cast):
    """A customs officer at Incheon Airport (KRICN); the cast works at Busan (KRPUS)."""
    return UserFactory(
        username="airport_officer", role="officer", agency=cast.customs, offices=["KRICN"]
    )


@pytest.fixture
def two_offices(cast, reviewed):
    """A declaration entering at Busan and one entering at Incheon Airport."""
    return {
        "KRPUS": reviewed(lane="red", hs_codes=(PHONES,)),
        "KRICN": reviewed(lane="red", hs_codes=(PHONES,), office_of_entry="KRICN"),
    }


def queue_declarations(client) -> list[int]:
    return [row["declaration"] for row in client.get("/api/v1/reviews/").json()["results"]]


# --- Posting staff at offices ----------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "offices", "message"),
    [
        ("officer", [], "An officer works at one customs office: choose it."),
        ("officer", ["KRPUS", "KRICN"], "An officer works at one customs office only"),
        ("supervisor", [], "A supervisor oversees one or more customs offices"),
        ("cashier", ["KRPUS", "KRICN"], "A cashier works at one customs office at most."),
        ("officer", ["XXNOPE"], "Not a customs office: XXNOPE."),
    ],
)
def test_staff_are_posted_where_their_role_says_and_the_field_is_named(
    cast, role, offices, message
):
    with pytest.raises(ValidationError) as error:
        user_create(
            username="posted", password=PASSWORD, role=role, agency=cast.customs,
            offices=offices, actor=cast.admin,
        )  # fmt: skip
    assert list(error.value.message_dict) == ["offices"]
    assert message in error.value.message_dict["offices"][0]


def test_traders_and_administrators_work_at_no_office_analysts_need_none(cast):
    with pytest.raises(ValidationError) as error:
        user_update(user=cast.trader_a, offices=["KRPUS"], actor=cast.admin)
    assert error.value.message_dict["offices"] == ["A trader works at no customs office."]
    analyst = user_create(
        username="analyst_x", password=PASSWORD, role="analyst", agency=cast.customs
    )
    assert analyst.office_codes == []
    cashier = user_create(
        username="cashier_x", password=PASSWORD, role="cashier", agency=cast.customs,
        offices=["KRICN"],
    )  # fmt: skip
    assert list(cashier.offices.values_list("code", flat=True)) == ["KRICN"]


def test_a_closed_office_takes_no_new_staff(cast):
    from reference.models import Office

    Office.objects.filter(code="KRDRS").update(active=False)
    with pytest.raises(ValidationError) as error:
        user_update(user=cast.customs_officer, offices=["KRDRS"], actor=cast.admin)
    assert "KRDRS: closed" in error.value.message_dict["offices"][0]


def test_a_supervisor_oversees_several_offices_and_an_edit_keeps_them(cast):
    supervisor = user_update(user=cast.supervisor, offices=["KRPUS", "KRICN"], actor=cast.admin)
    assert supervisor.office_codes == ["KRICN", "KRPUS"]
    # Changing something else leaves the offices as they are, and checks them still.
    user_update(user=supervisor, first_name="Hye-jin", actor=cast.admin)
    assert sorted(supervisor.offices.values_list("code", flat=True)) == ["KRICN", "KRPUS"]
    with pytest.raises(ValidationError) as error:
        user_update(user=supervisor, role="officer", actor=cast.admin)
    assert "offices" in error.value.message_dict


def test_only_an_administrator_posts_staff(cast):
    with pytest.raises(PermissionDenied):
        user_update(user=cast.customs_officer, offices=["KRICN"], actor=cast.supervisor)


def test_moving_an_officer_moves_their_queue(cast, api, two_offices):
    client = api.as_user(cast.customs_officer)
    assert queue_declarations(client) == [two_offices["KRPUS"].pk]
    user_update(user=cast.customs_officer, offices=["KRICN"], actor=cast.admin)
    assert queue_declarations(client) == [two_offices["KRICN"].pk]


# --- The users API, for administrators -------------------------------------------------


def test_an_administrator_creates_and_posts_an_officer_through_the_api(cast, api):
    client = api.as_user(cast.admin)
    body = {
        "username": "port_officer",
        "password": "Sturdy-customs-passphrase-7",
        "role": "officer",
        "agency": "customs",
    }
    response = client.post("/api/v1/users/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["offices"]

    response = client.post("/api/v1/users/", {**body, "offices": ["KRICN"]}, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["role"], created["agency"], created["offices"]) == (
        "officer",
        "customs",
        ["KRICN"],
    )
    response = client.patch(
        f"/api/v1/users/{created['id']}/", {"offices": ["KRPUS", "KRICN"]}, format="json"
    )
    assert response.status_code == 400
    assert "one customs office only" in response.json()["fields"]["offices"][0]
    response = client.patch(
        f"/api/v1/users/{created['id']}/", {"offices": ["KRPUS"]}, format="json"
    )
    assert (response.status_code, response.json()["offices"]) == (200, ["KRPUS"])
    listed = client.get("/api/v1/users/?office=KRPUS&role=officer").json()["results"]
    assert "port_officer" in {user["username"] for user in listed}
    assert "food_officer" in {user["username"] for user in listed}


def test_an_administrator_keeps_their_own_administration(cast, api):
    client = api.as_user(cast.admin)
    response = client.patch(f"/api/v1/users/{cast.admin.pk}/", {"role": "analyst"})
    assert (response.status_code, list(response.json()["fields"])) == (400, ["role"])
    response = client.patch(f"/api/v1/users/{cast.admin.pk}/", {"is_active": False})
    assert (response.status_code, list(response.json()["fields"])) == (400, ["is_active"])


@pytest.mark.parametrize("who", ["trader_a", "customs_officer", "supervisor", "analyst"])
def test_the_users_api_is_the_administrators(cast, api, who):
    client = api.as_user(getattr(cast, who))
    assert client.get("/api/v1/users/").status_code == 404
    assert client.get(f"/api/v1/users/{cast.customs_officer.pk}/").status_code == 404
    response = client.patch(f"/api/v1/users/{cast.customs_officer.pk}/", {"offices": ["KRICN"]})
    assert response.status_code == 404
    response = client.post(
        "/api/v1/users/",
        {"username": "x", "password": "Sturdy-customs-7", "role": "trader"},
        format="json",
    )
    assert response.status_code == 404
    assert cast.customs_officer.offices.get().code == "KRPUS"


# --- Office-scoped queues ---------------------------------------------------------------


def test_an_officer_sees_the_work_of_their_own_office_only(
    cast, api, login, airport_officer, two_offices
):
    busan, airport = two_offices["KRPUS"], two_offices["KRICN"]
    assert review_of(airport, cast.customs).office == "KRICN"
    assert queue_declarations(api.as_user(cast.customs_officer)) == [busan.pk]
    assert queue_declarations(api.as_user(airport_officer)) == [airport.pk]
    counts = api.as_user(airport_officer).get("/api/v1/reviews/counts/").json()
    assert (counts["active"], counts["red"]) == (1, 1)

    page = login(airport_officer).get("/queue/").content.decode()
    assert airport.reference in page and busan.reference not in page
    assert "your office, <strong>KRICN</strong>" in page
    counts = login(airport_officer).get("/queue/counts/").content.decode()
    assert "<strong>1</strong> waiting" in counts


def test_a_supervisor_sees_every_office_they_oversee_and_filters_by_office(
    cast, api, login, two_offices
):
    busan, airport = two_offices["KRPUS"], two_offices["KRICN"]
    user_update(user=cast.supervisor, offices=["KRPUS", "KRICN"], actor=cast.admin)
    client = api.as_user(cast.supervisor)
    assert sorted(queue_declarations(client)) == sorted([busan.pk, airport.pk])
    rows = client.get("/api/v1/reviews/?office=KRICN").json()["results"]
    assert [(r["declaration"], r["office"]) for r in rows] == [(airport.pk, "KRICN")]
    # An office they do not oversee narrows to nothing, it does not widen.
    assert client.get("/api/v1/reviews/?office=KRINC").json()["count"] == 0
    assert client.get("/api/v1/reviews/counts/?office=KRPUS").json()["active"] == 1
    assert client.get("/api/v1/reviews/counts/").json()["active"] == 2

    browser = login(cast.supervisor)
    page = browser.get("/queue/").content.decode()
    assert '<select id="f-office" name="office">' in page
    assert busan.reference in page and airport.reference in page
    page = browser.get("/queue/?office=KRICN").content.decode()
    assert airport.reference in page and busan.reference not in page
    counts = browser.get("/queue/counts/?office=KRICN").content.decode()
    assert "<strong>1</strong> waiting" in counts


def test_an_officer_posted_nowhere_is_told_to_ask_an_administrator(cast, api, login, two_offices):
    # An officer from before offices existed: the migration posted nobody.
    cast.customs_officer.offices.clear()
    page = login(cast.customs_officer).get("/queue/").content.decode()
    assert "You are not posted at any customs office" in page
    assert "ask an administrator" in page
    assert two_offices["KRPUS"].reference not in page
    client = api.as_user(cast.customs_officer)
    assert client.get("/api/v1/reviews/").json()["count"] == 0
    assert client.get("/api/v1/reviews/counts/").json()["active"] == 0
    review = review_of(two_offices["KRPUS"], cast.customs)
    assert client.get(f"/api/v1/reviews/{review.pk}/").status_code == 404


@pytest.mark.parametrize("page_size", [5, 20])
def test_a_supervisors_queue_over_two_offices_costs_the_same_queries(
    cast, api, reviewed, django_assert_num_queries, page_size
):
    user_update(user=cast.supervisor, offices=["KRPUS", "KRICN"], actor=cast.admin)
    for n in range(22):
        reviewed(lane=("red", "yellow")[n % 2], office_of_entry=("KRPUS", "KRICN")[n % 3 % 2])
    client = api.as_user(cast.supervisor)
    # token (with the offices), the queue's count, the page's ids, its rows
    with django_assert_num_queries(4):
        response = client.get(f"/api/v1/reviews/?page_size={page_size}")
    assert len(response.json()["results"]) == page_size
    assert {row["office"] for row in response.json()["results"]} == {"KRPUS", "KRICN"}


# --- Another office's work: 404, pages and API -----------------------------------------

REVIEW_ACTIONS = [
    ("claim", {}),
    ("approve", {"conditions": ""}),
    ("reject", {"reason": "not ours"}),
    ("query", {"question": "Which flight?"}),
    ("inspection", {"kind": "documentary", "finding": "no_discrepancy", "revenue_difference": 0}),
    ("lane", {"lane": "green", "reason": "not ours"}),
]
API_ACTIONS = {"query": "queries", "inspection": "inspections"}


def test_a_review_of_another_office_answers_404_on_the_page_and_every_action(
    cast, client, airport_officer, two_offices
):
    review = review_of(two_offices["KRPUS"], cast.customs)
    assert client.login(request=login_request(), username="airport_officer", password=PASSWORD)
    assert client.get(f"/reviews/{review.pk}/").status_code == 404
    for action, data in REVIEW_ACTIONS:
        response = client.post(f"/reviews/{review.pk}/{action}/", data)
        assert response.status_code == 404, action
    review.refresh_from_db()
    assert (review.status, review.assigned_to_id) == ("open", None)


def test_a_review_of_another_office_answers_404_in_the_api(cast, api, airport_officer, two_offices):
    review = review_of(two_offices["KRPUS"], cast.customs)
    client = api.as_user(airport_officer)
    assert client.get(f"/api/v1/reviews/{review.pk}/").status_code == 404
    for action, data in REVIEW_ACTIONS:
        path = API_ACTIONS.get(action, action)
        response = client.post(f"/api/v1/reviews/{review.pk}/{path}/", data, format="json")
        assert response.status_code == 404, (action, response.json())
    review.refresh_from_db()
    assert (review.status, review.assigned_to_id) == ("open", None)


def test_the_services_refuse_an_officer_of_another_office(cast, airport_officer, two_offices):
    review = review_of(two_offices["KRPUS"], cast.customs)
    with pytest.raises(PermissionDenied):
        review_claim(review_id=review.pk, actor=airport_officer)
    with pytest.raises(PermissionDenied):
        review_approve(review_id=review.pk, actor=airport_officer)
    assert Review.objects.get(pk=review.pk).status == "open"


def test_the_documents_of_another_offices_declaration_answer_404(
    cast, api, airport_officer, two_offices
):
    from declarations.selectors import get_document_for_user
    from tests.agencies.test_access_matrix import document_of

    document = document_of(two_offices["KRPUS"])
    url = f"/api/v1/declarations/{document.declaration_id}/documents/{document.pk}/"
    assert api.as_user(airport_officer).get(url).status_code == 404
    # Busan's customs officer may open it (the file itself is not stored in this test).
    found = get_document_for_user(
        user=cast.customs_officer, declaration_pk=document.declaration_id, pk=document.pk
    )
    assert found == document


def test_an_agencys_officer_elsewhere_sees_nothing_of_busans_slice(cast, api, reviewed):
    elsewhere = UserFactory(role="officer", agency=cast.food, offices=["KRICN"])
    declaration = reviewed(hs_codes=(MEAT,))
    food = review_of(declaration, cast.food)
    client = api.as_user(elsewhere)
    assert client.get("/api/v1/reviews/").json()["count"] == 0
    assert client.get(f"/api/v1/reviews/{food.pk}/").status_code == 404
    assert api.as_user(cast.food_officer).get(f"/api/v1/reviews/{food.pk}/").status_code == 200


# --- Who is told of new work ------------------------------------------------------------


def test_new_work_is_told_to_the_officers_of_its_office(cast, airport_officer, two_offices):
    def told(user) -> set[str]:
        return set(
            Notification.objects.filter(recipient=user, verb="review_opened").values_list(
                "url", flat=True
            )
        )

    busan = review_of(two_offices["KRPUS"], cast.customs)
    airport = review_of(two_offices["KRICN"], cast.customs)
    assert told(cast.customs_officer) == {f"/reviews/{busan.pk}/"}
    assert told(airport_officer) == {f"/reviews/{airport.pk}/"}


def test_the_migration_puts_existing_reviews_in_their_declarations_office(cast, reviewed):
    """Its UPDATE, run again over reviews that had no office: an import's goes to its
    office of entry, another type's to its office of departure."""
    import importlib

    from django.db import connection
    from django.db.migrations import RunSQL

    from declarations.models import Declaration

    busan = reviewed(hs_codes=(MEAT,))
    airport = reviewed(hs_codes=(PHONES,), office_of_entry="KRICN")
    Declaration.objects.filter(pk=airport.pk).update(type="EX", office_of_departure="KRINC")
    Review.objects.update(office="")
    migration = importlib.import_module("agencies.migrations.0013_review_office_queues")
    [fill] = [op for op in migration.Migration.operations if isinstance(op, RunSQL)]
    with connection.cursor() as cursor:
        cursor.execute(fill.sql)
    offices = dict(Review.objects.values_list("declaration_id", "office").distinct())
    assert offices == {busan.pk: "KRPUS", airport.pk: "KRINC"}
