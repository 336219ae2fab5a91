from tests.agencies.conftest import reviewed  # noqa: F401  (declarations under review)
from tests.risk.conftest import no_random_selection  # noqa: F401
