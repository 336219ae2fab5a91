"""An office closes: lodgements naming it are refused on the field, and the declarations
waiting there are diverted to another office, their open reviews with them, the
declarant and the new office's staff told."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from agencies.models import Review
from agencies.services import review_claim
from clearance.continuity import declarations_divert
from clearance.services import declaration_lodge, declaration_submit
from core.exceptions import ApplicationError
from declarations.models import Declaration, DeclarationEvent, OfficeDiversion
from notifications.models import Notification
from reference.models import OfficeClosure
from reference.services import office_close, office_reopen
from tests.agencies.conftest import MEAT, ORANGES, PHONES, review_of
from tests.factories import UserFactory, api_payload, consistent_header, item_data, make_declaration

pytestmark = pytest.mark.django_db


@pytest.fixture
def incheon(cast):
    """Customs and food staff at Incheon port (KRINC), a seaport like Busan (KRPUS)."""
    return {
        "customs": UserFactory(
            username="incheon_officer", role="officer", agency=cast.customs, offices=["KRINC"]
        ),
        "food": UserFactory(
            username="incheon_food", role="officer", agency=cast.food, offices=["KRINC"]
        ),
        "supervisor": UserFactory(
            username="two_ports",
            role="supervisor",
            agency=cast.customs,
            offices=["KRPUS", "KRINC"],
        ),
    }


def close_busan(cast, **kwargs):
    return office_close(office_code="KRPUS", reason="Flooded quay", actor=cast.admin, **kwargs)


def told(user, verb: str) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user, verb=verb).values_list("text", flat=True)
    )


# --- Closing and reopening -------------------------------------------------------------


def test_an_administrator_closes_an_office_and_its_staff_are_told(cast):
    closure = close_busan(cast)
    assert closure.in_force() and closure.closed_by == cast.admin
    assert told(cast.customs_officer, "office_closed")[0].startswith(
        "Office KRPUS (Busan Main Customs (Busan New Port)) is closed from"
    )
    assert told(cast.food_officer, "office_closed")  # every agency posted there
    with pytest.raises(ApplicationError, match="already closed"):
        close_busan(cast)
    office_reopen(office_code="KRPUS", reason="Water gone", actor=cast.admin)
    closure.refresh_from_db()
    assert closure.reopened_by == cast.admin and not closure.in_force()
    assert told(cast.customs_officer, "office_reopened")
    with pytest.raises(ApplicationError, match="not closed"):
        office_reopen(office_code="KRPUS", reason="again", actor=cast.admin)


@pytest.mark.parametrize("who", ["supervisor", "customs_officer", "trader_a", "analyst"])
def test_only_an_administrator_closes_or_reopens_an_office(cast, who):
    with pytest.raises(PermissionDenied):
        office_close(office_code="KRPUS", reason="x", actor=getattr(cast, who))
    close_busan(cast)
    with pytest.raises(PermissionDenied):
        office_reopen(office_code="KRPUS", reason="x", actor=getattr(cast, who))


def test_a_closure_names_its_reason_and_an_office_that_exists(cast):
    with pytest.raises(ValidationError) as error:
        office_close(office_code="KRPUS", reason="  ", actor=cast.admin)
    assert list(error.value.message_dict) == ["reason"]
    with pytest.raises(ValidationError) as error:
        office_close(office_code="XXNOPE", reason="gone", actor=cast.admin)
    assert list(error.value.message_dict) == ["office"]
    with pytest.raises(ValidationError) as error:
        close_busan(cast, closed_from=timezone.now() + timedelta(days=90))
    assert list(error.value.message_dict) == ["closed_from"]
    assert not OfficeClosure.objects.exists()


# --- Lodgements naming a closed office -----------------------------------------------------


def test_a_lodgement_naming_a_closed_office_is_refused_on_that_field(cast, api):
    close_busan(cast)
    items = [item_data()]
    with pytest.raises(ValidationError) as error:
        declaration_lodge(actor=cast.trader_a, header=consistent_header(items), items=items)
    assert list(error.value.message_dict) == ["office_of_entry"]
    assert error.value.message_dict["office_of_entry"][0].startswith(
        "KRPUS, Busan Main Customs (Busan New Port) is closed since "
    )
    # The API says the same, naming the field; nothing is stored.
    response = api.as_user(cast.trader_a).post(
        "/api/v1/declarations/", {**api_payload(), "lodge": True}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["office_of_entry"]
    # A draft may still name it (it is not lodged), but not be submitted.
    draft = make_declaration(actor=cast.trader_a, invoice_number="INV-CLOSED-DRAFT")
    with pytest.raises(ValidationError) as error:
        declaration_submit(declaration=draft, actor=cast.trader_a)
    assert list(error.value.message_dict) == ["office_of_entry"]
    assert not Declaration.objects.exclude(status="draft").exists()


def test_an_export_leaving_by_a_closed_office_is_refused_on_the_office_of_exit(cast):
    from tests.factories import export_item_data, make_export

    close_busan(cast)
    export = make_export(actor=cast.trader_a, office_of_departure="KRINC")
    with pytest.raises(ValidationError) as error:
        declaration_submit(declaration=export, actor=cast.trader_a)
    assert list(error.value.message_dict) == ["office_of_exit"]
    assert export_item_data()  # the export's goods are otherwise fine


def test_a_closure_announced_for_later_or_reopened_blocks_nothing_now(cast):
    closure = close_busan(cast, closed_from=timezone.now() + timedelta(hours=6))
    items = [item_data()]
    lodged = declaration_lodge(
        actor=cast.trader_a, header=consistent_header(items, invoice_number="INV-LATER"),
        items=items,
    )  # fmt: skip
    assert lodged.status == "submitted"
    OfficeClosure.objects.filter(pk=closure.pk).update(closed_from=timezone.now())
    with pytest.raises(ValidationError):
        declaration_lodge(
            actor=cast.trader_a, header=consistent_header(items, invoice_number="INV-NOW"),
            items=items,
        )  # fmt: skip
    office_reopen(office_code="KRPUS", reason="dry", actor=cast.admin)
    declaration_lodge(
        actor=cast.trader_a, header=consistent_header(items, invoice_number="INV-NOW"),
        items=items,
    )  # fmt: skip


# --- Diversion -------------------------------------------------------------------------------


def test_waiting_declarations_move_to_the_new_office_with_their_open_reviews(
    cast, reviewed, incheon
):
    declaration = reviewed(lane="yellow", hs_codes=(MEAT, ORANGES))
    review_claim(review_id=review_of(declaration, cast.food).pk, actor=cast.food_officer)
    close_busan(cast)

    [diversion] = declarations_divert(
        office_code="KRPUS", to_office="KRINC", reason="quay flooded", actor=cast.admin
    )

    declaration.refresh_from_db()
    assert declaration.office_of_entry == "KRINC" and declaration.control_office == "KRINC"
    assert (diversion.from_office, diversion.to_office, diversion.field) == (
        "KRPUS", "KRINC", "office_of_entry",
    )  # fmt: skip
    assert diversion.reviews == ["customs", "food", "plant"]
    assert diversion.diverted_by == cast.admin and diversion.closure.office_id == "KRPUS"
    reviews = declaration.reviews.all()
    assert {r.office for r in reviews} == {"KRINC"}
    # The claimed review is nobody's until an officer of the new office takes it.
    assert review_of(declaration, cast.food).assigned_to is None
    assert told(cast.food_officer, "review_diverted")[0].endswith(
        "your review moved to KRINC, its office now (KRPUS closed: quay flooded)"
    )
    # Gone from Busan's queues, in Incheon's.
    assert (
        not Review.objects.worked_by(cast.customs_officer).filter(declaration=declaration).exists()
    )
    assert Review.objects.worked_by(incheon["customs"]).filter(declaration=declaration).exists()
    assert Review.objects.worked_by(incheon["food"]).filter(declaration=declaration).exists()
    assert told(incheon["customs"], "review_diverted")[0].startswith(
        "New work, diverted to KRINC: Customs review of IM-"
    )
    # The declarant reads where to go now, not why the office closed.
    [notice] = told(cast.trader_a, "office_diverted")
    assert "KRINC, Incheon Customs (Incheon Port)" in notice
    assert "flooded" not in notice
    event = DeclarationEvent.objects.filter(declaration=declaration).latest("seq")
    assert event.action == "office_diverted" and event.actor == cast.admin
    assert event.data["from"] == "KRPUS" and event.data["to"] == "KRINC"
    assert event.reason == "quay flooded"
    # The new office's officer works it: claims it and records the check.
    review_claim(review_id=review_of(declaration, cast.customs).pk, actor=incheon["customs"])


def test_only_the_closed_offices_waiting_work_is_diverted(cast, reviewed, incheon):
    waiting = reviewed(lane="red", hs_codes=(PHONES,))
    elsewhere = reviewed(lane="red", hs_codes=(PHONES,), office_of_entry="KRINC")
    draft = make_declaration(actor=cast.trader_a, invoice_number="INV-DRAFT-KRPUS")
    close_busan(cast)
    diversions = declarations_divert(
        office_code="KRPUS", to_office="KRINC", reason="r", actor=cast.admin
    )
    assert [d.declaration_id for d in diversions] == [waiting.pk]
    draft.refresh_from_db()
    assert draft.office_of_entry == "KRPUS"  # a draft is the trader's to change
    assert OfficeDiversion.objects.filter(declaration=elsewhere).count() == 0
    with pytest.raises(ApplicationError, match="No declaration of these waits at KRPUS"):
        declarations_divert(office_code="KRPUS", to_office="KRINC", reason="r", actor=cast.admin)


def test_an_officers_decision_stays_with_the_office_that_took_it(cast, reviewed, incheon):
    from clearance.services import review_approve

    declaration = reviewed(lane="green", hs_codes=(MEAT,))
    food = review_of(declaration, cast.food)
    review_approve(review_id=food.pk, actor=cast.food_officer)
    close_busan(cast)
    declarations_divert(office_code="KRPUS", to_office="KRINC", reason="r", actor=cast.admin)
    food.refresh_from_db()
    customs = review_of(declaration, cast.customs)
    assert food.office == "KRPUS" and food.decided_by == cast.food_officer
    # The platform's green approval may open again on a raised lane: it goes along.
    assert customs.automatic_basis and customs.office == "KRINC"


def test_one_declaration_or_a_chosen_few_are_diverted_by_id(cast, reviewed, incheon):
    first, second = (reviewed(lane="red", hs_codes=(PHONES,)) for _ in range(2))
    close_busan(cast)
    declarations_divert(
        office_code="KRPUS", to_office="KRUWN", reason="inland depot", actor=cast.admin,
        declaration_ids=[second.pk],
    )  # fmt: skip
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.office_of_entry, second.office_of_entry) == ("KRPUS", "KRUWN")


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("KRICN", "cannot take KRPUS's work"),  # an airport: the ship does not fly
        ("KRPUS", "cannot take KRPUS's work"),  # itself
        ("XXNOPE", "cannot take KRPUS's work"),
        ("", "No office cannot take"),
    ],
)
def test_work_goes_only_to_an_open_office_of_a_suitable_kind(cast, reviewed, target, why):
    reviewed(lane="red", hs_codes=(PHONES,))
    close_busan(cast)
    with pytest.raises(ValidationError) as error:
        declarations_divert(office_code="KRPUS", to_office=target, reason="r", actor=cast.admin)
    assert list(error.value.message_dict) == ["to_office"]
    assert why in error.value.message_dict["to_office"][0]
    assert "seaport or inland office" in error.value.message_dict["to_office"][0]


def test_a_closed_office_takes_no_diverted_work(cast, reviewed):
    reviewed(lane="red", hs_codes=(PHONES,))
    close_busan(cast)
    office_close(office_code="KRINC", reason="storm too", actor=cast.admin)
    with pytest.raises(ValidationError):
        declarations_divert(office_code="KRPUS", to_office="KRINC", reason="r", actor=cast.admin)


def test_an_open_office_has_nothing_to_divert(cast, reviewed):
    reviewed(lane="red", hs_codes=(PHONES,))
    with pytest.raises(ApplicationError, match="KRPUS is not closed"):
        declarations_divert(office_code="KRPUS", to_office="KRINC", reason="r", actor=cast.admin)


def test_a_customs_supervisor_of_the_office_diverts_nobody_else_does(cast, reviewed, incheon):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    close_busan(cast)
    food_supervisor = UserFactory(username="food_sup", role="supervisor", agency=cast.food)
    elsewhere = UserFactory(
        username="ulsan_sup", role="supervisor", agency=cast.customs, offices=["KRUSN"]
    )
    for actor in (cast.customs_officer, food_supervisor, elsewhere, cast.trader_a, cast.analyst):
        with pytest.raises(PermissionDenied):
            declarations_divert(office_code="KRPUS", to_office="KRINC", reason="r", actor=actor)
    declarations_divert(office_code="KRPUS", to_office="KRINC", reason="r", actor=cast.supervisor)
    declaration.refresh_from_db()
    assert declaration.office_of_entry == "KRINC"


def test_diverting_many_takes_the_same_statements_as_diverting_a_few(cast, reviewed, incheon):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for n in (1, 2, 8):  # the first warms the reference cache (office names)
        for _ in range(n):
            reviewed(lane="red", hs_codes=(MEAT,))
        close_busan(cast)
        with CaptureQueriesContext(connection) as queries:
            diversions = declarations_divert(
                office_code="KRPUS", to_office="KRINC", reason="r", actor=cast.admin
            )
        assert len(diversions) == n
        counts.append(len(queries.captured_queries))
        office_reopen(office_code="KRPUS", reason="open", actor=cast.admin)
    assert counts[1] == counts[2], counts


def test_a_diverted_review_shows_in_the_supervisors_filter_for_its_new_office(
    cast, reviewed, incheon, api
):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    close_busan(cast)
    declarations_divert(office_code="KRPUS", to_office="KRINC", reason="r", actor=cast.admin)
    client = api.as_user(incheon["supervisor"])
    rows = client.get("/api/v1/reviews/?office=KRINC").json()["results"]
    assert [(r["declaration"], r["office"]) for r in rows] == [(declaration.pk, "KRINC")]
    assert client.get("/api/v1/reviews/?office=KRPUS").json()["results"] == []
    # The officer posted at Busan sees it no more.
    assert api.as_user(cast.customs_officer).get("/api/v1/reviews/").json()["results"] == []
