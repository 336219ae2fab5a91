"""The guarantee endpoints: a trader reads their company's, customs keeps the registry
with four eyes; anyone else gets 404."""

from datetime import timedelta

import pytest
from django.utils import timezone

from guarantees.models import Guarantee
from tests.guarantees.conftest import guarantee_accept

pytestmark = pytest.mark.django_db


def proposal_body(company, **overrides) -> dict:
    today = timezone.localdate()
    body = {
        "company_tax_id": company.tax_id,
        "reference": "GRT-API-1",
        "amount": "25000000",
        "valid_from": str(today),
        "valid_until": str(today + timedelta(days=180)),
        "reason": "Undertaking checked",
    }
    body.update(overrides)
    return body


def test_a_trader_reads_their_company_s_guarantees_and_what_movements_hold(
    cast, api, posted, guarantee, movement_drawn
):
    other = guarantee_accept(
        company=cast.company_b, proposer=posted.departure, approver=posted.supervisor,
        reference="GRT-B-0001",
    )  # fmt: skip
    client = api.as_user(cast.trader_a)
    listed = client.get("/api/v1/guarantees/").json()
    assert [g["reference"] for g in listed["results"]] == ["GRT-A-0001"]
    detail = client.get(f"/api/v1/guarantees/{guarantee.pk}/").json()
    guarantee.refresh_from_db()
    assert detail["balance"] == f"{guarantee.balance:.2f}"
    assert detail["engaged"] == f"{guarantee.engaged:.2f}"
    assert [d["reference"] for d in detail["draws"]] == [movement_drawn.reference]
    assert client.get(f"/api/v1/guarantees/{other.pk}/").status_code == 404


def test_the_registry_takes_two_customs_people(cast, api, posted):
    officer = api.as_user(posted.departure)
    response = officer.post(
        "/api/v1/guarantee-proposals/", proposal_body(cast.company_a), format="json"
    )
    assert response.status_code == 201, response.json()
    proposal = response.json()
    assert (proposal["kind"], proposal["status"]) == ("accept", "proposed")
    approve = f"/api/v1/guarantee-proposals/{proposal['id']}/approve/"
    # An officer does not approve; the proposer neither.
    assert officer.post(approve).status_code == 403
    response = api.as_user(posted.supervisor).post(approve)
    assert response.status_code == 200, response.json()
    assert response.json()["decided_by"] == "supervisor"
    guarantee = Guarantee.objects.get(reference="GRT-API-1")
    assert (guarantee.status, guarantee.balance) == ("accepted", guarantee.amount)

    supervisor = api.as_user(posted.supervisor)
    response = supervisor.post(
        f"/api/v1/guarantees/{guarantee.pk}/raise/",
        {"amount": "30000000", "reason": "Busy season"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    own = f"/api/v1/guarantee-proposals/{response.json()['id']}/approve/"
    response = supervisor.post(own)
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Four eyes")
    waiting = api.as_user(posted.destination).get("/api/v1/guarantee-proposals/").json()
    assert [p["kind"] for p in waiting["results"]] == ["raise"]


def test_bad_input_names_its_field(cast, api, posted, guarantee):
    client = api.as_user(posted.departure)
    response = client.post(
        "/api/v1/guarantee-proposals/",
        proposal_body(cast.company_a, reference="GRT-A-0001", amount="-5"),
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"amount"}
    response = client.post(
        "/api/v1/guarantee-proposals/",
        proposal_body(cast.company_a, reference="GRT-A-0001"),
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["fields"]["reference"] == ["Guarantee GRT-A-0001 is already registered."]


@pytest.mark.parametrize("who", ["trader_a", "food_officer", "analyst", "admin"])
def test_the_registry_answers_404_to_all_but_customs_officers(cast, api, posted, guarantee, who):
    client = api.as_user(getattr(cast, who))
    proposal = Guarantee.objects.get(pk=guarantee.pk).proposals.get()
    assert client.get("/api/v1/guarantee-proposals/").status_code == 404
    assert (
        client.post(
            "/api/v1/guarantee-proposals/", proposal_body(cast.company_a), format="json"
        ).status_code
        == 404
    )
    assert client.post(f"/api/v1/guarantee-proposals/{proposal.pk}/approve/").status_code == 404
    assert (
        client.post(
            f"/api/v1/guarantees/{guarantee.pk}/raise/",
            {"amount": "999999999", "reason": "x"},
            format="json",
        ).status_code
        == 404
    )
    if who != "trader_a":
        assert client.get("/api/v1/guarantees/").status_code == 404
    assert Guarantee.objects.count() == 1


def test_another_company_s_trader_gets_404(cast, api, posted, guarantee):
    client = api.as_user(cast.trader_b)
    assert client.get("/api/v1/guarantees/").json()["count"] == 0
    assert client.get(f"/api/v1/guarantees/{guarantee.pk}/").status_code == 404


# ---- Pages --------------------------------------------------------------------------------


def test_the_trader_s_page_shows_balance_and_draws(cast, login, guarantee, movement_drawn):
    page = login(cast.trader_a).get("/guarantees/")
    assert page.status_code == 200
    html = page.content.decode()
    guarantee.refresh_from_db()
    assert "GRT-A-0001" in html
    assert f"{int(guarantee.balance):,} KRW" in html
    assert movement_drawn.reference in html


def test_the_registry_page_proposes_and_a_second_supervisor_approves(cast, login, posted):
    client = login(posted.departure)
    assert client.get("/guarantees/").status_code == 200
    today = timezone.localdate()
    form = {
        "company_tax_id": cast.company_b.tax_id,
        "reference": "GRT-PAGE-1",
        "amount": "1000000",
        "valid_from": str(today),
        "valid_until": str(today - timedelta(days=1)),
        "reason": "checked",
    }
    page = client.post("/guarantees/new/", form)
    assert page.status_code == 200  # shown again, the error on its field
    assert "The guarantee must end after it begins." in page.content.decode()
    form["valid_until"] = str(today + timedelta(days=30))
    page = client.post("/guarantees/new/", form)
    guarantee = Guarantee.objects.get(reference="GRT-PAGE-1")
    assert page.status_code == 302 and page.url == f"/guarantees/{guarantee.pk}/"
    proposal = guarantee.proposals.get()
    client.post(f"/guarantees/proposals/{proposal.pk}/approve/")
    guarantee.refresh_from_db()
    assert guarantee.status == "proposed"  # an officer does not approve
    login(posted.supervisor).post(f"/guarantees/proposals/{proposal.pk}/approve/")
    guarantee.refresh_from_db()
    assert guarantee.status == "accepted"


@pytest.mark.parametrize("path", ["/guarantees/", "/guarantees/new/", "/guarantees/{pk}/"])
def test_pages_answer_404_outside_customs_and_the_holder(cast, login, guarantee, path):
    for user in (cast.food_officer, cast.analyst):
        assert login(user).get(path.format(pk=guarantee.pk)).status_code == 404
    client = login(cast.trader_b)
    if path == "/guarantees/":
        assert "GRT-A-0001" not in client.get(path).content.decode()
    else:
        assert client.get(path.format(pk=guarantee.pk)).status_code == 404
