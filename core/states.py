"""Allowed status moves of a stateful model, and the questions asked of them.

Every stateful model (declaration, review, inspection, payment, rule set, model
version, risk job) keeps one table, `TRANSITIONS`: for each status, the statuses
it may move to. Its one transition function checks every move against that
table; views, serializers and templates ask `may_become` (the `may_become`
template filter) what a status allows instead of spelling statuses out again.
"""

from typing import ClassVar

from core.exceptions import InvalidTransition


class Stateful:
    """Mixin for a model with a `status` field and a TRANSITIONS table."""

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]]

    def may_become(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]

    def ensure_may_become(self, status: str) -> None:
        if not self.may_become(status):
            noun = self._meta.verbose_name
            current = self.get_status_display().lower()
            target = dict(self._meta.get_field("status").choices)[status].lower()
            raise InvalidTransition(
                f"{_article(current).capitalize()} {current} {noun} cannot become {target}.",
                extra={"status": self.status},
            )


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def check_table(model) -> None:
    """Every status has a row and every target is a status (run by the tests)."""
    statuses = set(model.Status.values)
    assert set(model.TRANSITIONS) == statuses, f"{model.__name__}: a status has no row"
    for targets in model.TRANSITIONS.values():
        assert targets <= statuses, f"{model.__name__}: unknown target in {targets}"
