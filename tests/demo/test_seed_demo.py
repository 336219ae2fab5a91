import pytest
from django.core.management import call_command

from accounts.models import Company, User
from agencies.models import Agency, JurisdictionRule, Permit, Review
from declarations.models import Declaration
from demo.management.commands.seed_demo import DEMO_PASSWORD, RULES
from risk.models import RuleSet, SelectivityRule

pytestmark = pytest.mark.django_db

SEEDED = (
    Agency, JurisdictionRule, Company, User, Permit, RuleSet, SelectivityRule, Declaration, Review,
)  # fmt: skip


def test_seed_demo_is_idempotent_and_covers_every_role():
    call_command("seed_demo", verbosity=0)
    counts = [m.objects.count() for m in SEEDED]
    call_command("seed_demo", verbosity=0)
    assert [m.objects.count() for m in SEEDED] == counts
    assert Agency.objects.filter(is_customs=True).count() == 1
    assert Agency.objects.filter(is_customs=False).count() >= 4
    assert set(User.objects.values_list("role", flat=True)) == set(User.Role.values)
    assert User.objects.get(username="trader_a").check_password(DEMO_PASSWORD)


def test_seed_demo_publishes_its_rules_in_one_new_live_version():
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)
    live = RuleSet.objects.get(status=RuleSet.Status.LIVE)
    assert sorted(live.rules.values_list("name", flat=True)) == sorted(r[0] for r in RULES)
    assert live.created_by == User.objects.get(username="analyst")
    # The first, empty version was retired by the publication, unchanged.
    assert list(RuleSet.objects.exclude(pk=live.pk).values_list("status", flat=True)) == [
        RuleSet.Status.RETIRED
    ]
    assert not SelectivityRule.objects.exclude(rule_set=live).exists()


def test_seed_demo_keeps_an_analyst_s_live_rules_and_adds_only_what_is_missing():
    from risk.services import rule_create, rule_delete, rule_set_draft_create
    from tests.factories import rule_set_publish

    call_command("seed_demo", verbosity=0)
    analyst = User.objects.get(username="analyst")
    draft = rule_set_draft_create(actor=analyst)
    rule_delete(actor=analyst, rule=draft.rules.get(name=RULES[0][0]))
    rule_create(actor=analyst, rule_set=draft, name="Analyst's own", hs_prefix="61", score=10)
    rule_set_publish(actor=analyst, rule_set=draft)

    call_command("seed_demo", verbosity=0)
    live = RuleSet.objects.get(status=RuleSet.Status.LIVE)
    assert live.version == draft.version + 1
    assert sorted(live.rules.values_list("name", flat=True)) == sorted(
        [*(r[0] for r in RULES), "Analyst's own"]
    )


def test_demo_users_belong_to_their_company_or_agency_group():
    call_command("seed_demo", verbosity=0)
    trader = User.objects.get(username="trader_a")
    officer = User.objects.get(username="food_officer")
    admin = User.objects.get(username="admin")
    assert list(trader.groups.all()) == [trader.company.group]
    assert list(officer.groups.all()) == [officer.agency.group]
    assert admin.is_staff and admin.is_superuser
    assert not trader.is_staff and not officer.is_superuser


def test_the_example_declaration_lodges_with_the_seeded_permits(api):
    import json
    from pathlib import Path

    call_command("seed_demo", verbosity=0)
    body = json.loads((Path(__file__).parents[2] / "examples" / "declaration.json").read_text())
    client = api.as_user(User.objects.get(username="trader_a"))
    response = client.post("/api/v1/declarations/validate/", body, format="json")
    assert response.status_code == 200, response.json()
    # The other company may not cite them.
    client = api.as_user(User.objects.get(username="trader_b"))
    response = client.post("/api/v1/declarations/validate/", body, format="json")
    assert "items[0].permits" in response.json()["fields"]


def test_seed_demo_leaves_an_export_to_confirm_at_busan_and_one_exited(api):
    from declarations.models import Declaration

    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)
    exports = Declaration.objects.filter(type="EX").order_by("invoice_number")
    assert [(d.status, d.office_of_exit) for d in exports] == [
        ("released", "KRPUS"),
        ("exited", "KRPUS"),
    ]
    officer = User.objects.get(username="customs_officer")
    waiting = api.as_user(officer).get("/api/v1/exits/").json()["results"]
    assert [row["reference"] for row in waiting] == [exports[0].reference]
    # The export-control office's rules are for exports only.
    types = JurisdictionRule.objects.filter(agency__code="strategic").values_list(
        "declaration_types", flat=True
    )
    assert types and all(t == ["EX"] for t in types)


def test_demo_staff_work_at_their_offices_and_the_airport_officer_sees_the_airports_work(api):
    call_command("seed_demo", verbosity=0)
    posted = {user.username: user.office_codes for user in User.objects.all()}
    for username in ("customs_officer", "food_officer", "plant_officer", "supervisor2"):
        assert posted[username] == ["KRPUS"], username
    assert posted["supervisor"] == ["KRINC", "KRPUS"]
    assert posted["airport_officer"] == ["KRICN"]
    assert posted["trader_a"] == posted["admin"] == []

    airport = User.objects.get(username="airport_officer")
    queue = api.as_user(airport).get("/api/v1/reviews/").json()["results"]
    assert len(queue) == 2
    assert {(row["agency"], row["office"]) for row in queue} == {("customs", "KRICN")}
    # Tobacco is always red; the phones yellow by the demo rules (or red, picked at random).
    assert {row["lane"] for row in queue} in ({"yellow", "red"}, {"red"})
    busan = api.as_user(User.objects.get(username="customs_officer"))
    assert busan.get("/api/v1/reviews/").json()["count"] == 0


def test_seed_demo_posts_demo_staff_made_before_offices_existed():
    call_command("seed_demo", verbosity=0)
    officer = User.objects.get(username="customs_officer")
    officer.offices.clear()
    call_command("seed_demo", verbosity=0)
    assert list(officer.offices.values_list("code", flat=True)) == ["KRPUS"]


def test_seed_demo_asks_for_the_reference_data_first():
    from django.core.management.base import CommandError

    from reference.models import Office

    Office.objects.all().delete()
    with pytest.raises(CommandError, match="load_reference_data"):
        call_command("seed_demo", verbosity=0)


def test_the_demo_has_a_consignee_and_an_emergency_waiting_for_a_second_administrator():
    from emergencies.models import Emergency, HumanitarianConsignee
    from emergencies.selectors import emergencies_in_force
    from emergencies.services import emergency_proposal_approve

    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)
    ngo = User.objects.get(username="relief_ngo")
    consignee = HumanitarianConsignee.objects.get(company=ngo.company)
    assert (consignee.status, consignee.requested_by, consignee.decided_by.username) == (
        "approved", ngo, "admin",
    )  # fmt: skip
    # Nothing is in force by default: one emergency waits, proposed by admin.
    assert emergencies_in_force() == []
    emergency = Emergency.objects.get()
    proposal = emergency.proposals.get()
    assert (emergency.status, proposal.proposed_by.username) == ("proposed", "admin")
    emergency_proposal_approve(proposal_id=proposal.pk, actor=User.objects.get(username="admin2"))
    assert emergencies_in_force() == [emergency]
