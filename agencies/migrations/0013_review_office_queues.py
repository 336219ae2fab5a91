"""Reviews are worked in the queue of a customs office: the office each review is in
(its declaration's control office), and the queue indexes led by (agency, office).

Existing reviews take the office from their declaration in one UPDATE (not row
by row: a queue holds millions of reviews), before the new indexes are built.
A code no office has any more is copied as it is: nothing leaves the records,
and the review shows again in a queue once an office of that code exists.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0008_staff_offices'),
        ('agencies', '0012_jurisdiction_declaration_types'),
        ('declarations', '0009_offices_by_role_seals'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='review',
            name='review_queue_idx',
        ),
        migrations.RemoveIndex(
            model_name='review',
            name='review_priority_idx',
        ),
        migrations.RemoveIndex(
            model_name='review',
            name='review_trader_idx',
        ),
        migrations.AddField(
            model_name='review',
            name='office',
            field=models.CharField(blank=True, max_length=8),
        ),
        # The declaration's control office (Declaration.control_office): an import's
        # office of entry, an export's or a transit movement's office of departure.
        migrations.RunSQL(
            """
            UPDATE agencies_review AS r
               SET office = CASE WHEN d.type = 'IM' THEN d.office_of_entry
                                 ELSE d.office_of_departure END
              FROM declarations_declaration AS d
             WHERE d.id = r.declaration_id
            """,
            migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name='review',
            index=models.Index(fields=['agency', 'office', 'status', 'opened_at'], name='review_office_queue_idx'),
        ),
        migrations.AddIndex(
            model_name='review',
            index=models.Index(condition=models.Q(('status__in', ['open', 'in_progress', 'queried'])), fields=['agency', 'office', 'lane_rank', 'opened_at', 'id'], include=('status', 'assigned_to'), name='review_office_priority_idx'),
        ),
        migrations.AddIndex(
            model_name='review',
            index=models.Index(condition=models.Q(('status__in', ['open', 'in_progress', 'queried'])), fields=['agency', 'office', 'company', 'lane_rank', 'opened_at', 'id'], name='review_office_trader_idx'),
        ),
    ]
