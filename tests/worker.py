"""The Celery app as the test worker runs it.

Transactional tests flush the test database between tests, content types
and permissions included, and recreate them; a long-lived worker would keep
ids cached from before. Production never deletes content types, so only the
test worker clears that cache before each task.
"""

from celery.signals import task_prerun

from singlewindow.celery import app

__all__ = ["app"]


@task_prerun.connect
def clear_content_type_cache(**kwargs):
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
