"""Latency and queries per request of the officer's queue, page and API.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/sw_bench \\
        .venv/bin/python bench/queue_bench.py --requests 200

Run after bench/queue_seed.py. Drives the real views in-process through
Django's test Client (session login for the page, token for the API), at page
sizes 25 and 100, for the customs queue (every declaration) and one agency's,
over random pages and the common filters. Prints p50/p95/p99 in milliseconds
the queries each request made (min-max) and the time spent in the database,
then (--explain) the plan of the default queue query.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "singlewindow.settings")
os.environ.setdefault("DEBUG", "true")

FILTERS = ["", "lane=red", "status=open", "age=30", "hs=0201", "trader=Bench Trading 0004"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


class QueryCounter:
    def __init__(self):
        self.count, self.seconds = 0, 0.0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def measure(client, url_for, n: int, rng) -> tuple[list[float], list[int], list[float]]:
    from django.db import connection

    latencies, queries, database = [], [], []
    for _ in range(n):
        url = url_for(rng)
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {response.content[:300]!r}")
        latencies.append(elapsed)
        queries.append(counter.count)
        database.append(counter.seconds * 1000)
    return latencies, queries, database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--pages", type=int, default=20, help="pick pages 1..N at random")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from accounts.services import api_token_issue
    from agencies.selectors import QueueFilters, _agency_scope, _filtered, review_queue

    rng = random.Random(1)
    print(
        f"{'endpoint':<44} {'size':>4} {'p50':>7} {'p95':>7} {'p99':>7} {'queries':>8} "
        f"{'db p50':>7} {'db p95':>7}"
    )
    for username in ("customs_officer", "food_officer"):
        user = User.objects.get(username=username)
        browser = Client(HTTP_HOST="localhost")
        browser.force_login(user)
        _, key = api_token_issue(user=user)
        api = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {key}")
        for label, client, base in (
            ("page", browser, "/queue/"),
            ("api", api, "/api/v1/reviews/"),
        ):
            for size in (25, 100):

                def url_for(rng, base=base, size=size):
                    extra = rng.choice(FILTERS)
                    page = rng.randint(1, args.pages) if not extra else 1
                    return f"{base}?page_size={size}&page={page}&{extra}"

                measure(client, url_for, 10, rng)  # warm caches and connections
                latencies, queries, database = measure(client, url_for, args.requests, rng)
                name = f"{username} {label} {base}"
                print(
                    f"{name:<44} {size:>4} {statistics.median(latencies):>7.1f} "
                    f"{percentile(latencies, 95):>7.1f} {percentile(latencies, 99):>7.1f} "
                    f"{min(queries):>4}-{max(queries):<3} "
                    f"{statistics.median(database):>7.1f} {percentile(database, 95):>7.1f}",
                    flush=True,
                )
        if args.explain:
            queryset = review_queue(user=user, filters=QueueFilters()).values_list("pk")[:25]
            sql, params = queryset.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                print("\n".join(row[0] for row in cursor.fetchall()))
                count_sql, count_params = (
                    _filtered(_agency_scope(user=user), user=user, filters=QueueFilters())
                    .values("pk")
                    .query.sql_with_params()
                )
                cursor.execute(
                    f"EXPLAIN (ANALYZE, BUFFERS) SELECT COUNT(*) FROM ({count_sql}) q",
                    count_params,
                )
                print("\n".join(row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
