"""Permits issued ahead of any declaration: agency, holder, goods, validity, revocation.

Permits issued while reviewing so far keep their review and number; they get
the review's agency, the declarant's company as holder, the slice's HS codes
as goods and their issue date as the start of their validity.
"""

import django.contrib.postgres.fields
import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def fill_issued_permits(apps, schema_editor):
    Permit = apps.get_model("agencies", "Permit")
    for permit in Permit.objects.select_related("review__declaration").iterator():
        review = permit.review
        permit.agency_id = review.agency_id
        permit.holder_id = review.declaration.company_id
        codes = sorted({item.hs_code for item in review.items.all()})
        permit.hs_prefixes = codes or [review.hs_prefixes[0] if review.hs_prefixes else "01"]
        permit.valid_from = min(permit.issued_at.date(), permit.valid_until)
        permit.save(update_fields=["agency", "holder", "hs_prefixes", "valid_from"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_initial"),
        ("agencies", "0009_outcomes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="jurisdictionrule",
            name="always_review",
            field=models.BooleanField(
                default=False,
                help_text="the agency looks at these goods even when a valid permit is cited",
            ),
        ),
        migrations.AlterField(
            model_name="permit",
            name="review",
            field=models.ForeignKey(
                blank=True,
                help_text="The review it was issued while reviewing, if any.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="permits",
                to="agencies.review",
            ),
        ),
        migrations.AlterField(
            model_name="permit",
            name="number",
            field=models.CharField(max_length=40),
        ),
        migrations.AddField(
            model_name="permit",
            name="agency",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="permits",
                to="agencies.agency",
            ),
        ),
        migrations.AddField(
            model_name="permit",
            name="holder",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="permits",
                to="accounts.company",
                help_text="The company the permit was issued to; only its declarations may cite it.",
            ),
        ),
        migrations.AddField(
            model_name="permit",
            name="hs_prefixes",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(max_length=10), default=list, size=None
            ),
        ),
        migrations.AddField(
            model_name="permit",
            name="origin_countries",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(
                    max_length=2,
                    validators=[
                        django.core.validators.RegexValidator(
                            "^[A-Z]{2}$", "A country is an ISO 3166 code: CN."
                        )
                    ],
                ),
                blank=True,
                default=list,
                help_text="Only goods from these countries (ISO codes, comma-separated); empty: any.",
                size=None,
            ),
        ),
        migrations.AddField(
            model_name="permit",
            name="valid_from",
            field=models.DateField(null=True),
        ),
        migrations.AddField(
            model_name="permit",
            name="status",
            field=models.CharField(
                choices=[("valid", "Valid"), ("revoked", "Revoked")], default="valid", max_length=8
            ),
        ),
        migrations.AddField(
            model_name="permit",
            name="revoked_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="permit",
            name="revoked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="permit",
            name="revoke_reason",
            field=models.TextField(blank=True),
        ),
        migrations.RunPython(fill_issued_permits, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="permit",
            name="agency",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="permits",
                to="agencies.agency",
            ),
        ),
        migrations.AlterField(
            model_name="permit",
            name="holder",
            field=models.ForeignKey(
                help_text="The company the permit was issued to; only its declarations may cite it.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="permits",
                to="accounts.company",
            ),
        ),
        migrations.AlterField(
            model_name="permit",
            name="hs_prefixes",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(
                    max_length=10,
                    validators=[
                        django.core.validators.RegexValidator(
                            "^\\d{2}(\\d{2}){0,4}$",
                            "An HS prefix is 2, 4, 6, 8 or 10 digits (chapter, heading, ...).",
                        )
                    ],
                ),
                help_text="Goods covered: HS chapters, headings or subheadings (comma-separated).",
                size=None,
            ),
        ),
        migrations.AlterField(
            model_name="permit",
            name="valid_from",
            field=models.DateField(),
        ),
        migrations.AlterModelOptions(
            name="permit",
            options={"ordering": ["-issued_at", "-id"]},
        ),
        migrations.AddConstraint(
            model_name="permit",
            constraint=models.UniqueConstraint(
                fields=("agency", "number"), name="unique_agency_permit_number"
            ),
        ),
        migrations.AddConstraint(
            model_name="permit",
            constraint=models.CheckConstraint(
                condition=models.Q(("valid_until__gte", models.F("valid_from"))),
                name="permit_validity_in_order",
            ),
        ),
        migrations.AddConstraint(
            model_name="permit",
            constraint=models.CheckConstraint(
                condition=models.Q(("hs_prefixes", []), _negated=True),
                name="permit_covers_goods",
            ),
        ),
        migrations.AddConstraint(
            model_name="permit",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("revoked_at__isnull", True), ("status", "valid")),
                    models.Q(
                        ("revoked_at__isnull", False),
                        ("revoked_by__isnull", False),
                        ("status", "revoked"),
                        models.Q(("revoke_reason", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="revoked_permit_has_reason",
            ),
        ),
        migrations.AddIndex(
            model_name="permit",
            index=models.Index(fields=["agency", "-issued_at"], name="permit_agency_idx"),
        ),
        migrations.AddIndex(
            model_name="permit",
            index=models.Index(fields=["holder", "-issued_at"], name="permit_holder_idx"),
        ),
    ]
