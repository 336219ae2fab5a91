"""The browser's event loop leaves the tests their database connection."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connections

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_browser_test_restores_the_initial_rows_and_leaves_them_to_the_next(
    django_db_setup, page, live_server
):
    # The test database is set up before the browser starts (as in the suite, where
    # database tests run first), on the thread's connection before Playwright's loop.
    page.goto(f"{live_server.url}/accounts/login/")
    # Playwright now marks its event loop running in this thread: the ORM still uses
    # the connection the test database was set up on, which holds the rows this
    # serialized test restored (and its teardown leaves to the next one to restore).
    assert hasattr(connections["default"], "_test_serialized_contents")
    assert Permission.objects.filter(codename="view_declaration").exists()
