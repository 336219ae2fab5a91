import pytest

from accounts.models import User
from declarations.models import Declaration
from declarations.services import declaration_mark_submitted
from tests.agencies.conftest import reviewed  # noqa: F401  (declarations under review)
from tests.factories import UserFactory, make_declaration, route


def make_assessed(cast, *, trader=None, **header) -> Declaration:
    """A declaration lodged (not queued for scoring) and routed green, which clears it:
    assessed, its duties due."""
    trader = trader or cast.trader_a
    declaration = make_declaration(actor=trader, **header)
    declaration_mark_submitted(declaration=declaration, actor=trader)
    route(declaration, lane="green")
    declaration = Declaration.objects.get(pk=declaration.pk)
    assert declaration.status == Declaration.Status.ASSESSED
    assert declaration.total_due > 0
    return declaration


@pytest.fixture
def assessed(cast):
    return make_assessed(cast)


@pytest.fixture
def cashier(cast) -> User:
    return UserFactory(
        username="cashier", role=User.Role.CASHIER, agency=cast.customs, first_name="Min-ji"
    )
