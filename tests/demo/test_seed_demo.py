import pytest
from django.core.management import call_command

from accounts.models import Company, User
from agencies.models import Agency, JurisdictionRule
from risk.models import SelectivityRule


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_covers_every_role():
    call_command("seed_demo")
    counts = [m.objects.count() for m in (Agency, JurisdictionRule, Company, User, SelectivityRule)]
    call_command("seed_demo")
    assert [
        m.objects.count() for m in (Agency, JurisdictionRule, Company, User, SelectivityRule)
    ] == counts
    assert Agency.objects.filter(is_customs=True).count() == 1
    assert Agency.objects.filter(is_customs=False).count() >= 4
    assert set(User.objects.values_list("role", flat=True)) == set(User.Role.values)
    assert User.objects.get(username="trader_a").check_password("demo12345")
