from tests.agencies.conftest import reviewed  # noqa: F401  (declarations under review)
from tests.guarantees.conftest import guarantee, movement, posted  # noqa: F401  (transit)
from tests.risk.conftest import forget_loaded_model, no_random_selection  # noqa: F401
