"""Train the learned risk model on files and print selection metrics as one JSON object."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Train the learned risk model on --train files and print ROC AUC and precision, recall "
        "and revenue at inspection rates 1/2/5/10% on --test as JSON. Needs no database."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["kcs"], default="kcs", help="input file layout")
        parser.add_argument(
            "--train", action="append", required=True, metavar="FILE", help="training file"
        )
        parser.add_argument("--test", required=True, metavar="FILE", help="file to score")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args: Any, **options: Any) -> None:
        from risk.ml.evaluate import evaluate_kcs

        result = evaluate_kcs(options["train"], options["test"], seed=options["seed"])
        self.stdout.write(json.dumps(result))
