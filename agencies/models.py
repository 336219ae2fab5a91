from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

hs_prefix_validator = RegexValidator(
    r"^\d{2}(\d{2}){0,4}$", "An HS prefix is 2, 4, 6, 8 or 10 digits (chapter, heading, ...)."
)


class Agency(models.Model):
    """A government agency that regulates some goods; customs reviews everything."""

    code = models.SlugField(max_length=16, unique=True)
    name = models.CharField(max_length=200)
    is_customs = models.BooleanField(default=False)
    # Reviews of this agency are granted to this group (django-guardian).
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="agency")

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ["-is_customs", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_customs"], condition=Q(is_customs=True), name="one_customs_agency"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class JurisdictionRule(models.Model):
    """Goods under an HS prefix need this agency's review (and its permit)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="jurisdiction")
    hs_prefix = models.CharField(max_length=10, validators=[hs_prefix_validator])
    permit_type = models.CharField(
        max_length=100, blank=True, help_text="Permit or certificate the agency requires."
    )
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["agency", "hs_prefix"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "hs_prefix"], name="unique_agency_hs_prefix"),
        ]

    def __str__(self) -> str:
        return f"{self.agency.code}: HS {self.hs_prefix}"

    def covers(self, hs_code: str) -> bool:
        return hs_code.startswith(self.hs_prefix)


class Review(models.Model):
    """One agency's review of its slice of a declaration."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        QUERIED = "queried", "Queried"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    declaration = models.ForeignKey(
        "declarations.Declaration", on_delete=models.CASCADE, related_name="reviews"
    )
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="reviews")
    items = models.ManyToManyField("declarations.Item", related_name="reviews")
    status = models.CharField(max_length=16, choices=Status, default=Status.OPEN)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_reviews",
    )
    opened_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["declaration", "agency"], name="one_review_per_agency"),
        ]
        indexes = [
            # The officer's queue: an agency's reviews by status, oldest first.
            models.Index(fields=["agency", "status", "opened_at"], name="review_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.agency.code} review of {self.declaration_id}"


# Direct foreign-key permission tables (one row per object and group), so
# guardian never joins through the generic table.
class ReviewUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Review, on_delete=models.CASCADE)


class ReviewGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Review, on_delete=models.CASCADE)
