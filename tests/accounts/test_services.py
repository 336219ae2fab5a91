import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.services import company_update, user_create, user_update
from agencies.services import agency_update

pytestmark = pytest.mark.django_db


def group_names(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def test_moving_a_user_to_another_company_moves_them_to_its_group(cast):
    user_update(user=cast.trader_a, company=cast.company_b, actor=cast.admin)
    assert group_names(cast.trader_a) == {cast.company_b.group.name}


def test_a_trader_who_becomes_an_officer_leaves_the_company_group(cast):
    user = user_update(
        user=cast.trader_a, role="officer", company=None, agency=cast.food, offices=["KRPUS"],
        actor=cast.admin,
    )  # fmt: skip
    assert group_names(user) == {cast.food.group.name}
    assert user.company is None


def test_admin_access_follows_the_role(cast):
    user = user_update(user=cast.analyst, role="admin", agency=None, actor=cast.admin)
    assert user.is_staff and user.is_superuser
    user = user_update(user=user, role="analyst", agency=cast.customs, actor=cast.admin)
    assert not user.is_staff and not user.is_superuser
    assert group_names(user) == {cast.customs.group.name}


def test_a_user_must_belong_where_the_role_says_and_the_field_is_named(cast):
    with pytest.raises(ValidationError) as error:
        user_update(user=cast.trader_a, company=None, actor=cast.admin)
    assert "company" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        user_create(username="lost", password="x-Long-enough-1", role="officer")
    assert "agency" in error.value.message_dict


@pytest.mark.parametrize("who", ["trader_a", "food_officer", "supervisor", "analyst"])
def test_only_a_platform_administrator_changes_accounts_and_agencies(cast, who):
    actor = getattr(cast, who)
    with pytest.raises(PermissionDenied):
        user_update(user=cast.trader_b, first_name="X", actor=actor)
    with pytest.raises(PermissionDenied):
        company_update(company=cast.company_b, name="X", actor=actor)
    with pytest.raises(PermissionDenied):
        agency_update(agency=cast.food, name="X", actor=actor)


def test_tax_id_and_group_are_not_changeable_fields(cast):
    with pytest.raises(ValueError, match="tax_id"):
        company_update(company=cast.company_a, tax_id="NEW", actor=cast.admin)
    with pytest.raises(ValueError, match="groups"):
        user_update(user=cast.trader_a, groups=[], actor=cast.admin)
    updated = company_update(company=cast.company_a, aeo_status="aeo_f", actor=cast.admin)
    assert updated.aeo_status == "aeo_f"
