"""Before lodging, the trader's form and the validate API say whether the declaration
will be a relief consignment and which measures apply, or why not; only while an
emergency is in force, and never a word of targeting."""

from decimal import Decimal

import pytest
from django.utils.html import escape

from tests.emergencies.conftest import MEDICINES, TENTS, relief_header
from tests.factories import api_payload, make_declaration

pytestmark = pytest.mark.django_db


def validate(api, user, items, **header):
    response = api.as_user(user).post(
        "/api/v1/declarations/validate/", api_payload(items=items, **header), format="json"
    )
    assert response.status_code == 200, response.json()
    return response.json()


def test_the_validate_api_says_nothing_of_relief_without_an_emergency(cast, ngo, api):
    assert validate(api, ngo, [MEDICINES], **relief_header(ngo))["relief"] is None


def test_the_validate_api_tells_a_consignee_the_measures_and_previews_the_duty_relief(
    cast, emergency, ngo, api
):
    answer = validate(api, ngo, [MEDICINES, TENTS], **relief_header(ngo))
    relief = answer["relief"]
    assert relief["relief"] is True
    assert relief["emergency"]["id"] == emergency.pk
    assert relief["emergency"]["name"] == "Typhoon Mawar"
    assert relief["measures"] == emergency.measures
    assert relief["problems"] == []
    # What a declarant may read of the emergency; nothing of targeting or deliberation.
    assert set(relief) == {"emergency", "relief", "measures", "problems"}
    assert set(relief["emergency"]) == {"id", "name", "ends_at"}
    # The duties previewed are those it will owe once lodged: none, and what is forgiven.
    assert Decimal(answer["duties"]["total"]) == 0
    assert Decimal(answer["duties"]["relieved"]) > 0
    lodged = make_declaration(actor=ngo, items=[MEDICINES, TENTS], **relief_header(ngo))
    assert lodged.duties_relieved == Decimal(answer["duties"]["relieved"])


def test_the_validate_api_says_why_a_declaration_is_not_relief(cast, emergency, api):
    answer = validate(api, cast.trader_a, [MEDICINES])
    relief = answer["relief"]
    assert relief["relief"] is False
    assert relief["measures"] == []
    assert relief["problems"][0].startswith("The importer is not a humanitarian consignee")
    assert Decimal(answer["duties"]["total"]) > 0
    assert Decimal(answer["duties"]["relieved"]) == 0


def form_data(browser, draft) -> dict:
    """What the draft's edit form posts to its live check."""
    form = browser.get(f"/declarations/{draft.pk}/edit/")
    items = form.context["formset"].initial
    data = {
        **{k: v for k, v in form.context["form"].initial.items() if v is not None},
        "declaration_pk": str(draft.pk),
        "items-TOTAL_FORMS": str(len(items)),
        "items-INITIAL_FORMS": str(len(items)),
        "items-MIN_NUM_FORMS": "1",
        "items-MAX_NUM_FORMS": "1000",
        "itinerary": "",
    }
    for index, item in enumerate(items):
        for key, value in item.items():
            if key != "permits" and value is not None:
                data[f"items-{index}-{key}"] = str(value)
    return data


def test_the_form_tells_a_consignee_which_measures_apply(cast, emergency, ngo, login):
    draft = make_declaration(actor=ngo, items=[MEDICINES], **relief_header(ngo))
    browser = login(ngo)
    check = browser.post("/declarations/check/", form_data(browser, draft)).content.decode()
    assert 'data-testid="check-ok"' in check
    assert "A relief consignment of Typhoon Mawar" in check
    for measure in emergency.measures:
        assert escape(measure) in check
    assert 'data-testid="relieved"' in check

    # Goods the emergency does not list: the form says so, naming the item.
    data = form_data(browser, draft)
    data["items-0-hs_code"] = "851713"
    data["items-0-description"] = "Smartphones"
    check = browser.post("/declarations/check/", data).content.decode()
    assert "Not a relief consignment of Typhoon Mawar" in check
    assert "Not among the goods Typhoon Mawar lists: item 1 (HS 851713)." in check


def test_the_form_says_nothing_of_relief_without_an_emergency(cast, ngo, login):
    draft = make_declaration(actor=ngo, items=[MEDICINES], **relief_header(ngo))
    browser = login(ngo)
    check = browser.post("/declarations/check/", form_data(browser, draft)).content.decode()
    assert 'data-testid="check-ok"' in check
    assert 'data-testid="relief-check"' not in check


def test_a_draft_says_whether_it_would_be_relief_and_a_lodged_one_does_not(
    cast, emergency, ngo, login
):
    draft = make_declaration(actor=ngo, items=[MEDICINES], **relief_header(ngo))
    page = login(ngo).get(f"/declarations/{draft.pk}/").content.decode()
    assert 'data-testid="emergency-banner"' in page
    assert 'data-testid="relief-check"' in page
    assert "A relief consignment of Typhoon Mawar" in page

    ordinary = make_declaration(actor=cast.trader_a, items=[MEDICINES])
    page = login(cast.trader_a).get(f"/declarations/{ordinary.pk}/").content.decode()
    assert "Not a relief consignment of Typhoon Mawar" in page
    assert "The importer is not a humanitarian consignee" in page
