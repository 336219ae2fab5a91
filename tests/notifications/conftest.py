# The agencies' declaration-under-review fixture, shared with these tests.
from tests.agencies.conftest import reviewed  # noqa: F401
