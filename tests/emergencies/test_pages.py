"""The administrators' pages: declaring, approving, extending and ending an emergency
(two administrators each time), the registry of humanitarian consignees, and the
banner every page shows while an emergency is in force."""

from datetime import timedelta

import pytest
from django.utils import timezone

from emergencies.models import Emergency, EmergencyProposal, HumanitarianConsignee
from emergencies.selectors import emergency_notices
from tests.emergencies.conftest import declare
from tests.factories import TEST_OFFICE, CompanyFactory, UserFactory

pytestmark = pytest.mark.django_db

LOCAL = "%Y-%m-%dT%H:%M"


def declare_form(**overrides) -> dict:
    now = timezone.now()
    data = {
        "name": "Floods in Gyeongsang",
        "description": "The Nakdong has burst its banks.",
        "starts_at": (now - timedelta(minutes=5)).strftime(LOCAL),
        "ends_at": (now + timedelta(days=21)).strftime(LOCAL),
        "office_codes": [TEST_OFFICE, "KRINC"],
        "hs_prefixes": "3004, 6306; 8421 21",
        "priority": "on",
        "lower_lane": "on",
        "duty_relief": "on",
        "documents_may_follow": "on",
        "documents_within_days": "21",
        "reason": "Governor's request for international assistance",
    }
    data.update(overrides)
    return data


def text(response) -> str:
    return response.content.decode()


def test_an_administrator_proposes_and_a_second_approves_on_the_pages(
    cast, second_admin, login, client
):
    browser = login(cast.admin)
    page = browser.get("/emergencies/new/")
    assert page.status_code == 200
    assert "Offices of entry" in text(page) and "Listed goods (HS prefixes)" in text(page)

    response = browser.post("/emergencies/new/", declare_form())
    emergency = Emergency.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/emergencies/{emergency.pk}/"
    assert emergency.status == "proposed"
    assert emergency.hs_prefixes == ["3004", "6306", "842121"]
    assert sorted(emergency.offices.values_list("code", flat=True)) == ["KRINC", TEST_OFFICE]
    assert (emergency.duty_relief, emergency.documents_within_days) == (True, 21)
    proposal = emergency.proposals.get()

    # The proposer reads that another administrator decides, and may only withdraw.
    detail = text(browser.get(f"/emergencies/{emergency.pk}/"))
    assert "Yours: another administrator decides." in detail
    assert f"/emergencies/proposals/{proposal.pk}/approve/" not in detail
    assert "Withdraw" in detail
    # Were the proposer to post the approval anyway, four eyes refuse it.
    browser.post(f"/emergencies/proposals/{proposal.pk}/approve/")
    assert Emergency.objects.get().status == "proposed"
    assert "Four eyes" in text(browser.get(f"/emergencies/{emergency.pk}/"))

    browser.logout()
    browser = login(second_admin)
    detail = text(browser.get(f"/emergencies/{emergency.pk}/"))
    assert f"/emergencies/proposals/{proposal.pk}/approve/" in detail
    assert "Refuse" in detail
    assert 'data-testid="emergency-banner"' not in detail  # not yet in force
    response = browser.post(f"/emergencies/proposals/{proposal.pk}/approve/", follow=True)
    assert Emergency.objects.get().status == "active"
    page = text(response)
    assert "In force" in page
    assert "Emergency in force:" in page and "Floods in Gyeongsang" in page


def test_the_declare_form_names_each_field_in_error(cast, login):
    browser = login(cast.admin)
    cases = [
        ({"hs_prefixes": ""}, "hs_prefixes", "This field is required."),
        ({"hs_prefixes": "3"}, "hs_prefixes", "An HS prefix is 2, 4, 6, 8 or 10 digits"),
        ({"office_codes": []}, "office_codes", "This field is required."),
        ({"office_codes": ["XXNOP"]}, "office_codes", "Select a valid choice"),
        (
            {"ends_at": (timezone.now() - timedelta(days=1)).strftime(LOCAL)},
            "ends_at",
            "The emergency must end after it starts.",
        ),
        ({"documents_within_days": "0"}, "documents_within_days", "greater than or equal to 1"),
        ({"reason": ""}, "reason", "This field is required."),
    ]
    for overrides, field, message in cases:
        response = browser.post("/emergencies/new/", declare_form(**overrides))
        assert response.status_code == 200, field
        form = response.context["form"]
        assert field in form.errors, (field, form.errors)
        assert message in " ".join(form.errors[field]), (field, form.errors)
        assert message.replace("'", "&#x27;") in text(response) or message in text(response)
    assert not Emergency.objects.exists()


def test_the_proposer_withdraws_and_the_emergency_never_comes_into_force(cast, login):
    browser = login(cast.admin)
    browser.post("/emergencies/new/", declare_form())
    proposal = EmergencyProposal.objects.get()
    # A reason is needed.
    browser.post(f"/emergencies/proposals/{proposal.pk}/refuse/", {"reason": ""})
    assert EmergencyProposal.objects.get().status == "proposed"
    response = browser.post(
        f"/emergencies/proposals/{proposal.pk}/refuse/", {"reason": "Wrong area"}, follow=True
    )
    assert "withdrawn" in text(response)
    assert Emergency.objects.get().status == "refused"
    assert EmergencyProposal.objects.get().decision_note == "Wrong area"


def test_extending_and_ending_on_the_pages_take_a_second_administrator(cast, second_admin, login):
    emergency = declare(cast.admin, second_admin)
    browser = login(cast.admin)
    detail = text(browser.get(f"/emergencies/{emergency.pk}/"))
    assert "Propose the extension" in detail and "Propose to end it" in detail

    later = emergency.ends_at + timedelta(days=10)
    browser.post(
        f"/emergencies/{emergency.pk}/extend/",
        {"ends_at": later.strftime(LOCAL), "reason": "Aftershocks"},
    )
    extension = emergency.proposals.get(kind="extend")
    detail = text(browser.get(f"/emergencies/{emergency.pk}/"))
    # One proposal at a time: the forms give way to the pending one.
    assert "Propose the extension" not in detail
    assert "Yours: another administrator decides." in detail
    browser.logout()

    browser = login(second_admin)
    browser.post(f"/emergencies/proposals/{extension.pk}/approve/")
    emergency.refresh_from_db()
    assert emergency.ends_at.strftime(LOCAL) == later.strftime(LOCAL)

    # An end without a reason is refused, naming the field.
    response = browser.post(f"/emergencies/{emergency.pk}/end/", {"reason": ""}, follow=True)
    assert "reason: Say why" in text(response)
    browser.post(f"/emergencies/{emergency.pk}/end/", {"reason": "Relief phase over"})
    ending = emergency.proposals.get(kind="end")
    browser.logout()
    browser = login(cast.admin)
    response = browser.post(f"/emergencies/proposals/{ending.pk}/approve/", follow=True)
    assert Emergency.objects.get().status == "ended"
    assert 'data-testid="emergency-banner"' not in text(response)


def test_an_extension_that_does_not_extend_is_refused_naming_the_field(cast, second_admin, login):
    emergency = declare(cast.admin, second_admin)
    browser = login(cast.admin)
    response = browser.post(
        f"/emergencies/{emergency.pk}/extend/",
        {"ends_at": emergency.starts_at.strftime(LOCAL), "reason": "more"},
        follow=True,
    )
    assert "ends at: The new end must be after the present one" in text(response)
    assert not emergency.proposals.filter(kind="extend").exists()


def test_the_list_shows_what_waits_for_a_second_administrator(cast, second_admin, login):
    browser = login(cast.admin)
    browser.post("/emergencies/new/", declare_form(name="Wildfire Gangwon"))
    page = text(browser.get("/emergencies/"))
    assert "Waiting for a second administrator" in page
    assert "Declare Wildfire Gangwon" in page and "yours: another administrator decides" in page
    assert "Declare an emergency" in page


def test_a_trader_asks_to_register_and_administrators_decide(cast, second_admin, login):
    ngo = UserFactory(username="ngo_trader", company=CompanyFactory(name="Water for All"))
    browser = login(ngo)
    page = text(browser.get("/emergencies/consignees/"))
    assert "Ask to be registered" in page
    # The kind is needed, and named.
    response = browser.post("/emergencies/consignees/register/", {"mission": "Water"})
    assert "kind" in response.context["form"].errors
    response = browser.post(
        "/emergencies/consignees/register/",
        {"kind": "ngo", "mission": "Water purification in disasters; charity 2011-45"},
        follow=True,
    )
    consignee = HumanitarianConsignee.objects.get()
    assert (consignee.company, consignee.status) == (ngo.company, "requested")
    page = text(response)
    assert "Waiting for approval" in page
    assert "Ask to be registered" not in page  # a company registers once
    browser.logout()

    browser = login(cast.admin)
    page = text(browser.get("/emergencies/consignees/"))
    assert "Water for All" in page and "Approve" in page and "Refuse" in page
    browser.post(f"/emergencies/consignees/{consignee.pk}/decide/", {"status": "approved"})
    consignee.refresh_from_db()
    assert consignee.status == "approved"
    # Suspending takes a reason.
    response = browser.post(
        f"/emergencies/consignees/{consignee.pk}/decide/", {"status": "suspended"}, follow=True
    )
    assert "note: Say why." in text(response)
    browser.post(
        f"/emergencies/consignees/{consignee.pk}/decide/",
        {"status": "suspended", "note": "Inquiry into diverted goods"},
    )
    consignee.refresh_from_db()
    assert consignee.status == "suspended"
    assert "Reinstate" in text(browser.get("/emergencies/consignees/"))
    browser.post(f"/emergencies/consignees/{consignee.pk}/decide/", {"status": "approved"})
    consignee.refresh_from_db()
    assert consignee.status == "approved"


def test_an_administrator_registers_an_organisation_another_approves(cast, second_admin, login):
    browser = login(cast.admin)
    response = browser.post(
        "/emergencies/consignees/register/",
        {"company_tax_id": "NOPE", "kind": "un", "mission": "WFP"},
    )
    assert "company_tax_id" in response.context["form"].errors
    browser.post(
        "/emergencies/consignees/register/",
        {"company_tax_id": cast.company_b.tax_id, "kind": "un", "mission": "WFP logistics"},
    )
    consignee = HumanitarianConsignee.objects.get()
    page = text(browser.get("/emergencies/consignees/"))
    assert "Yours: another administrator approves." in page
    browser.logout()
    login(second_admin).post(
        f"/emergencies/consignees/{consignee.pk}/decide/", {"status": "approved"}
    )
    consignee.refresh_from_db()
    assert (consignee.status, consignee.decided_by) == ("approved", second_admin)


def test_the_nav_offers_emergencies_to_administrators_and_relief_registration_to_traders(
    cast, login
):
    page = text(login(cast.admin).get("/emergencies/"))
    assert 'href="/emergencies/">Emergencies</a>' in page
    assert 'href="/emergencies/consignees/">Humanitarian consignees</a>' in page
    page = text(login(cast.trader_a).get("/declarations/"))
    assert 'href="/emergencies/consignees/">Relief registration</a>' in page
    assert 'href="/emergencies/">' not in page
    page = text(login(cast.customs_officer).get("/queue/"))
    assert 'href="/emergencies/">' not in page and "/emergencies/consignees/" not in page
    # Officers read the relief announced at their office (supplies).
    assert 'href="/emergencies/prenotifications/">Relief announced</a>' in page


# ---- The banner -------------------------------------------------------------------------------


def test_every_page_shows_the_banner_while_an_emergency_is_in_force(cast, second_admin, login):
    trader = login(cast.trader_a)
    assert 'data-testid="emergency-banner"' not in text(trader.get("/declarations/"))

    emergency = declare(cast.admin, second_admin, name="Typhoon Mawar")
    for user, url in (
        (cast.trader_a, "/declarations/"),
        (cast.customs_officer, "/queue/"),
        (cast.analyst, "/risk/"),
        (cast.admin, "/emergencies/"),
    ):
        page = text(login(user).get(url))
        assert 'data-testid="emergency-banner"' in page, (user, url)
        assert "Emergency in force:" in page
        assert "Typhoon Mawar" in page
        assert f"until {emergency.ends_at:%Y-%m-%d %H:%M}" in page
        assert f"relief measures apply at {TEST_OFFICE} " in page
    # The login page, before anyone is known, says nothing.
    login(cast.trader_a).logout()
    assert "Emergency in force" not in text(login(cast.trader_a).get("/accounts/login/"))


def test_no_banner_before_an_emergency_starts_or_after_it_ends(cast, second_admin, login):
    now = timezone.now()
    later = declare(
        cast.admin, second_admin, starts_at=now + timedelta(days=2), ends_at=now + timedelta(9)
    )
    browser = login(cast.trader_a)
    assert "Emergency in force" not in text(browser.get("/declarations/"))
    # Time passing needs nobody to forget the cache: the clock is read on each page.
    assert emergency_notices(at=now + timedelta(days=3))[0].id == later.pk
    assert emergency_notices(at=now + timedelta(days=10)) == []


def test_the_banner_costs_one_statement_at_most_and_none_once_cached(
    cast, second_admin, django_assert_num_queries
):
    declare(cast.admin, second_admin)
    with django_assert_num_queries(1):
        assert len(emergency_notices()) == 1
    with django_assert_num_queries(0):
        assert len(emergency_notices()) == 1


def test_a_page_that_does_not_show_the_banner_does_not_read_it(
    cast, login, django_assert_num_queries
):
    from django.core.cache import cache

    from emergencies.selectors import NOTICES_CACHE_KEY

    browser = login(cast.trader_a)
    browser.get("/declarations/")
    cache.delete(NOTICES_CACHE_KEY)
    # The notification badge is a partial: no banner, no look at the emergencies.
    browser.get("/notifications/badge/")
    assert cache.get(NOTICES_CACHE_KEY) is None
    browser.get("/declarations/")
    assert cache.get(NOTICES_CACHE_KEY) == []


def test_without_the_cache_the_banner_reads_the_database(cast, second_admin, settings, caplog):
    declare(cast.admin, second_admin, name="Typhoon Mawar")
    # Nothing listens there: every cache call fails as when Redis is down.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    assert [notice.name for notice in emergency_notices()] == ["Typhoon Mawar"]
    assert "cache unavailable" in caplog.text
