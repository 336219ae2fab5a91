import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import OuterRef, Q


class Company(models.Model):
    """A trading company: declarant, broker, importer or exporter."""

    class AeoStatus(models.TextChoices):
        NONE = "none", "Not authorised"
        AEO_C = "aeo_c", "AEO customs simplifications"
        AEO_S = "aeo_s", "AEO security and safety"
        AEO_F = "aeo_f", "AEO full"

    name = models.CharField(max_length=200)
    tax_id = models.CharField("tax identification number", max_length=32, unique=True)
    country = models.CharField(max_length=2, default="KR")
    aeo_status = models.CharField(max_length=8, choices=AeoStatus, default=AeoStatus.NONE)
    # Object permissions on the company's declarations are granted to this
    # group, so access is one row per declaration, not per user.
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="company")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.tax_id})"


class User(AbstractUser):
    class Role(models.TextChoices):
        TRADER = "trader", "Trader"
        OFFICER = "officer", "Agency officer"
        SUPERVISOR = "supervisor", "Supervisor"
        ANALYST = "analyst", "Risk analyst"
        # Takes payments at the customs counter and confirms their orders.
        CASHIER = "cashier", "Cashier"
        ADMIN = "admin", "Administrator"

    role = models.CharField(max_length=16, choices=Role)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    agency = models.ForeignKey(
        "agencies.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    # The customs offices an agency's officer works at: an officer works the queue
    # of one office, a supervisor may oversee several (see office_error).
    offices = models.ManyToManyField("reference.Office", blank=True, related_name="staff")

    # The offices a service is about to post the user at. A many-to-many field is
    # saved after the row, so clean() checks these when they are given, and the
    # offices already saved when they are not.
    offices_chosen = None

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="trader_belongs_to_company_only",
                condition=~Q(role="trader") | Q(company__isnull=False, agency__isnull=True),
            ),
            models.CheckConstraint(
                name="agency_staff_belong_to_agency_only",
                condition=~Q(role__in=["officer", "supervisor", "analyst", "cashier"])
                | Q(agency__isnull=False, company__isnull=True),
            ),
            models.CheckConstraint(
                name="admin_belongs_to_nobody",
                condition=~Q(role="admin") | Q(agency__isnull=True, company__isnull=True),
            ),
        ]

    def clean(self):
        # The constraints above, each refusal on the field to fix, so that a form
        # shows it next to that field instead of naming a constraint.
        super().clean()
        staff = (self.Role.OFFICER, self.Role.SUPERVISOR, self.Role.ANALYST, self.Role.CASHIER)
        errors = {}
        if self.role == self.Role.TRADER:
            if self.company_id is None:
                errors["company"] = "A trader belongs to a company: choose one."
            if self.agency_id is not None:
                errors["agency"] = "A trader belongs to no agency."
        elif self.role in staff:
            if self.agency_id is None:
                errors["agency"] = "Agency staff belong to an agency: choose one."
            if self.company_id is not None:
                errors["company"] = "Agency staff belong to no company."
            if self.role == self.Role.CASHIER and self.agency_id and not self.agency.is_customs:
                errors["agency"] = "A cashier takes payments for customs: choose customs."
        elif self.role == self.Role.ADMIN:
            if self.company_id is not None:
                errors["company"] = "An administrator belongs to no company."
            if self.agency_id is not None:
                errors["agency"] = "An administrator belongs to no agency."
        office_error = self.office_error(self._offices_to_check())
        if office_error:
            errors["offices"] = office_error
        if errors:
            raise ValidationError(errors)

    def _offices_to_check(self) -> list:
        if self.offices_chosen is not None:
            return list(self.offices_chosen)
        if self.pk is None:
            return []
        return list(self.offices.all())

    def office_error(self, offices) -> str:
        """Why the user cannot be posted at these offices (reference.Office rows), or "".

        An officer works the queue of exactly one office and a supervisor
        oversees one or more; a cashier may take payments at one office.
        Traders and administrators belong to no office; analysts need none.
        """
        closed = sorted(office.code for office in offices if not office.active)
        if closed:
            return f"{', '.join(closed)}: closed (inactive); choose an active office."
        count = len(offices)
        if self.role == self.Role.OFFICER and count != 1:
            if count == 0:
                return "An officer works at one customs office: choose it."
            return "An officer works at one customs office only: choose one."
        if self.role == self.Role.SUPERVISOR and count == 0:
            return "A supervisor oversees one or more customs offices: choose them."
        if self.role == self.Role.CASHIER and count > 1:
            return "A cashier works at one customs office at most."
        if self.role in (self.Role.TRADER, self.Role.ADMIN) and count:
            return f"A {self.get_role_display().lower()} works at no customs office."
        return ""

    @property
    def office_codes(self) -> list[str]:
        """The codes of the offices the user is posted at, sorted, read once per user
        object; the login's own query brings them (with_office_codes), since every
        page and call of an officer is scoped by them."""
        if not hasattr(self, "_office_codes"):
            through = User.offices.through
            self._office_codes = (
                sorted(through.objects.filter(user_id=self.pk).values_list("office_id", flat=True))
                if self.pk
                else []
            )
        return self._office_codes

    @property
    def is_trader(self) -> bool:
        return self.role == self.Role.TRADER

    @property
    def is_agency_staff(self) -> bool:
        return self.role in (self.Role.OFFICER, self.Role.SUPERVISOR)

    @property
    def is_analyst(self) -> bool:
        return self.role == self.Role.ANALYST

    @property
    def is_cashier(self) -> bool:
        return self.role == self.Role.CASHIER

    @property
    def is_platform_admin(self) -> bool:
        return self.role == self.Role.ADMIN


def with_office_codes(queryset, *, user_field: str = "pk"):
    """Users (or rows naming one in `user_field`, as an API token does) with their
    offices' codes in the same query, as `_office_codes` (see User.office_codes)."""
    codes = ArraySubquery(
        User.offices.through.objects.filter(user_id=OuterRef(user_field))
        .order_by("office_id")
        .values("office_id")
    )
    return queryset.annotate(_office_codes=codes)


class ApiToken(models.Model):
    """A key for the API, one per login (each program or device its own).

    Only a SHA-256 digest of the key is kept: the key itself is shown once, when
    it is issued. A token ends at `expires_at`, when its owner or an
    administrator revokes it (the row is deleted) and when the owner's password
    changes: `password_fingerprint` is that of the password the token was issued
    under, so even a password set outside the services ends it.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    # The key's first characters, for its owner to tell their tokens apart.
    prefix = models.CharField(max_length=8)
    name = models.CharField(max_length=100, blank=True)
    password_fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def digest_of(key: str) -> str:
        # The key is 160 random bits: a plain hash is enough, no salt or stretching.
        return hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def fingerprint_of(user: User) -> str:
        return hashlib.sha256(user.password.encode()).hexdigest()


# Roles that may use a second factor, and that an administrator may require it of.
SECOND_FACTOR_ROLES = (
    User.Role.OFFICER,
    User.Role.SUPERVISOR,
    User.Role.ANALYST,
    User.Role.CASHIER,
    User.Role.ADMIN,
)


class SecurityPolicy(models.Model):
    """The platform's security settings: one row (id 1), changed by administrators."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    second_factor_roles = ArrayField(
        models.CharField(max_length=16, choices=[(r.value, r.label) for r in SECOND_FACTOR_ROLES]),
        default=list,
        blank=True,
        help_text="Users of these roles must confirm each login with a second factor; "
        "those without one are sent to set it up after their password.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "security policy"
        constraints = [models.CheckConstraint(name="one_security_policy", condition=Q(id=1))]

    def __str__(self) -> str:
        return "Security policy"


class SecurityPolicyChange(models.Model):
    """Who changed the security policy, when, from what to what and why.

    Append-only: the database refuses UPDATE and DELETE (migration
    0006_security_policy_row_and_append_only_changes).
    """

    at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} security policy changed by {self.changed_by}"
