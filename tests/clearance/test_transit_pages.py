"""The officers' pages of transit movements, and the declarant's view of one."""

import pytest
from django.utils import timezone

from declarations.models import Declaration
from guarantees.models import GuaranteeDraw
from tests.factories import UserFactory
from tests.guarantees.conftest import arrive, cleared, lodge, released

pytestmark = pytest.mark.django_db

PAGE_STATEMENTS = 7


@pytest.fixture
def assessed(cast, api, posted, guarantee, django_capture_on_commit_callbacks):
    response = lodge(api, cast.trader_a, django_capture_on_commit_callbacks)
    movement = Declaration.objects.get(pk=response.json()["id"])
    return cleared(movement, officer=posted.departure)


def test_busan_seals_it_and_seoul_receives_and_discharges_it_through_the_pages(
    cast, login, posted, assessed
):
    busan = login(posted.departure)
    page = busan.get("/movements/").content.decode()
    assert "Movements at" in page and "(KRPUS)" in page
    assert assessed.reference in page
    response = busan.post(
        f"/movements/{assessed.pk}/release/",
        {"seal_numbers": "KRSEAL000123, KRSEAL000124", "next": "/movements/"},
    )
    assert response.status_code == 302 and response.url == "/movements/"
    movement = Declaration.objects.get(pk=assessed.pk)
    assert (movement.status, movement.seal_numbers) == (
        "released", ["KRSEAL000123", "KRSEAL000124"],
    )  # fmt: skip

    seoul = login(posted.destination)
    page = seoul.get("/movements/").content.decode()
    assert "Arrivals expected" in page and movement.reference in page
    detail = seoul.get(f"/movements/{movement.pk}/").content.decode()
    assert "Record the arrival" in detail
    arrived_at = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    seoul.post(
        f"/movements/{movement.pk}/arrival/",
        {
            "arrived_at": arrived_at,
            "seals_intact": "on",
            "seal_numbers_found": "KRSEAL000123 KRSEAL000124",
            "discrepancies": "",
        },
    )
    assert Declaration.objects.get(pk=movement.pk).status == "arrived"
    page = seoul.get("/movements/").content.decode()
    assert "Arrived, to discharge" in page
    seoul.post(f"/movements/{movement.pk}/discharge/")
    assert Declaration.objects.get(pk=movement.pk).status == "discharged"
    assert GuaranteeDraw.objects.get(declaration=movement).status == "released"


def test_a_refused_release_is_shown_on_the_page(cast, login, posted, assessed):
    client = login(posted.departure)
    response = client.post(
        f"/movements/{assessed.pk}/release/", {"seal_numbers": "bad seal!"}, follow=True
    )
    assert "a seal number is 4 to 32 capital letters" in response.content.decode()
    assert Declaration.objects.get(pk=assessed.pk).status == "assessed"


def test_movement_pages_answer_404_outside_the_movement_s_offices(cast, login, posted, assessed):
    for user in (posted.elsewhere, cast.trader_a, cast.food_officer, cast.analyst):
        client = login(user)
        assert client.get(f"/movements/{assessed.pk}/").status_code == 404, user
        response = client.post(f"/movements/{assessed.pk}/release/", {"seal_numbers": "KRS1234"})
        assert response.status_code == 404, user
    assert Declaration.objects.get(pk=assessed.pk).status == "assessed"
    for user in (cast.trader_a, cast.food_officer, cast.analyst, cast.admin):
        assert login(user).get("/movements/").status_code == 404, user
    page = login(posted.elsewhere).get("/movements/").content.decode()
    assert assessed.reference not in page
    # The officer of destination sees it but does not release it.
    response = login(posted.destination).post(
        f"/movements/{assessed.pk}/release/", {"seal_numbers": "KRSEAL000999"}
    )
    assert response.status_code == 404
    assert Declaration.objects.get(pk=assessed.pk).status == "assessed"


def test_an_officer_posted_nowhere_is_told_to_ask_for_a_posting(cast, login):
    unposted = UserFactory(username="new_officer", role="officer", agency=cast.customs)
    unposted.offices.clear()  # not yet posted by an administrator
    page = login(unposted).get("/movements/").content.decode()
    assert "You are posted at no customs office" in page


def test_a_supervisor_of_several_offices_picks_one(cast, login, posted, assessed):
    client = login(posted.supervisor)
    page = client.get("/movements/", {"office": "KRSEL"}).content.decode()
    assert "(KRSEL)" in page and assessed.reference not in page
    page = client.get("/movements/", {"office": "KRPUS"}).content.decode()
    assert assessed.reference in page
    assert client.get("/movements/", {"office": "KRINC"}).status_code == 404


def test_the_declarant_reads_the_transit_and_its_guarantee_never_the_officers_notes(
    cast, api, login, posted, assessed
):
    page = login(cast.trader_a).get(f"/declarations/{assessed.pk}/").content.decode()
    draw = GuaranteeDraw.objects.get(declaration=assessed)
    assert "Transit" in page and "GRT-A-0001" in page
    assert f"{int(draw.amount):,} KRW engaged" in page
    assert "releases them under seal" in page  # what happens next
    assert "Pay " not in page  # nothing is due
    api.as_user(posted.departure).post(
        f"/api/v1/movements/{assessed.pk}/release/", {"seal_numbers": ["KRSEAL1"]}, format="json"
    )
    movement = Declaration.objects.get(pk=assessed.pk)
    api.as_user(posted.destination).post(
        f"/api/v1/movements/{assessed.pk}/arrival/",
        {
            "arrived_at": timezone.now().isoformat(),
            "seals_intact": False,
            "seal_numbers_found": ["KRSEAL1"],
            "discrepancies": "Pallet 3 opened, smell of smoke",
        },
        format="json",
    )
    page = login(cast.trader_a).get(f"/declarations/{movement.pk}/").content.decode()
    assert "Arrived" in page and "guarantee stays engaged" in page
    assert "smoke" not in page and "not intact" not in page


def test_an_office_s_movements_cost_the_same_statements_however_many(
    cast, api, login, posted, movement, django_assert_num_queries
):
    def arrived_one(seal):
        sealed = released(api, movement(), posted.departure, seals=[seal])
        assert arrive(api, sealed, posted.destination).status_code == 200

    client = api.as_user(posted.destination)
    page = login(posted.destination)
    for count, seals in ((1, ["KRSEAL000601"]), (3, ["KRSEAL000602", "KRSEAL000603"])):
        for seal in seals:
            arrived_one(seal)
        # The token and its user (with their offices); the page's count and its rows.
        with django_assert_num_queries(4):
            assert client.get("/api/v1/movements/").json()["count"] == count
        # The session, the user (with their offices) and their agency, the offices'
        # names; the office's three lists.
        with django_assert_num_queries(PAGE_STATEMENTS):
            page.get("/movements/")
