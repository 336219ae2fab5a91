from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from agencies.models import Agency, JurisdictionRule, Review
from core.permissions import grant

REVIEW_PERMS = ("agencies.view_review", "agencies.change_review")


@transaction.atomic
def agency_create(*, code: str, name: str, is_customs: bool = False) -> Agency:
    group = Group.objects.create(name=f"agency:{code}")
    agency = Agency(code=code, name=name, is_customs=is_customs, group=group)
    agency.full_clean()
    agency.save()
    return agency


@transaction.atomic
def jurisdiction_rule_create(
    *, agency: Agency, hs_prefix: str, permit_type: str = "", description: str = ""
) -> JurisdictionRule:
    rule = JurisdictionRule(
        agency=agency, hs_prefix=hs_prefix, permit_type=permit_type, description=description
    )
    rule.full_clean()
    rule.save()
    return rule


def agencies_concerned(items) -> dict[Agency, list]:
    """Customs with every item, and each agency whose jurisdiction covers an item."""
    customs = Agency.objects.get(is_customs=True)
    concerned: dict[Agency, list] = {customs: list(items)}
    rules = JurisdictionRule.objects.select_related("agency").exclude(agency=customs)
    for rule in rules:
        for item in items:
            if rule.covers(item.hs_code):
                slice_ = concerned.setdefault(rule.agency, [])
                if item not in slice_:
                    slice_.append(item)
    return concerned


def reviews_open(*, declaration) -> list[Review]:
    """Open one review per agency concerned; called inside the lane transaction."""
    items = list(declaration.items.all())
    now = timezone.now()
    reviews = []
    for agency, slice_ in agencies_concerned(items).items():
        review = Review(declaration=declaration, agency=agency, opened_at=now)
        review.full_clean()
        review.save()
        review.items.set(slice_)
        grant(group=agency.group, obj=review, perms=REVIEW_PERMS)
        reviews.append(review)
    return reviews
