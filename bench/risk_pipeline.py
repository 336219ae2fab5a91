"""Risk pipeline benchmark: submit to lane through the real queue, replay, worker memory.

Files N declarations through the services the API calls (create, then submit:
the submission commits and queues the scoring task), with real Celery worker
processes started here on a queue of their own, and measures:

- submit-to-lane throughput (declarations per second, first submission to last
  lane decision) and latency percentiles (submitted_at to decided_at);
- replay throughput (declarations per second) over the imported KCS history;
- resident memory of each worker process with the live model loaded.

Needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL). Prepares its database
itself: migrations, reference data, demo users, the KCS history and a trained
model (once; later runs reuse them).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/sw_bench DEBUG=true \\
        .venv/bin/python bench/risk_pipeline.py [-n 2000] [--workers 1] [--concurrency 2]
            [--submitters 2] [--rate 0] [--backlog 1000]

--rate paces the submissions (latency at a sustainable load); --backlog also
times how fast the workers drain declarations submitted while they were paused.
"""

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QUEUE = f"bench-risk-{uuid.uuid4().hex[:6]}"
os.environ["CELERY_QUEUE"] = QUEUE
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "singlewindow.settings")
os.environ.setdefault("DEBUG", "true")
KCS = ROOT.parent / "shared" / "data" / "kcs"


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ensure_database() -> None:
    """Create DATABASE_URL's database if it does not exist yet."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg2

    url = urlsplit(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    admin = psycopg2.connect(urlunsplit(url._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def vacuum() -> None:
    """VACUUM ANALYZE what scoring reads and rewrites, as autovacuum would have
    between runs (it may be off on a test machine: SHOW autovacuum). Without
    it the dead rows of earlier runs slow every later one."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "declarations_declaration", "declarations_item", "declarations_declarationevent",
            "agencies_review", "risk_lanedecision",
        ):  # fmt: skip
            cursor.execute(f"VACUUM ANALYZE {table}")


def prepare(train_rounds: int | None) -> None:
    from django.core.management import call_command

    from reference.models import HsCode
    from risk.models import ModelVersion, TrainingRecord
    from risk.training import model_train

    call_command("migrate", verbosity=0)
    if not HsCode.objects.exists():
        call_command("load_reference_data", verbosity=0)
    call_command("seed_demo", verbosity=0)
    if not TrainingRecord.objects.filter(source="kcs").exists():
        call_command("risk_import_kcs", str(KCS / "train.csv"), str(KCS / "valid.csv"))
    if not ModelVersion.objects.filter(status="live").exists():
        started = time.perf_counter()
        version = model_train(rounds=train_rounds)
        print(f"trained {version.label} in {time.perf_counter() - started:.0f} s: {version.note}")


def start_workers(count: int, concurrency: int) -> list[subprocess.Popen]:
    workers = []
    for index in range(count):
        log = open(ROOT / "var" / f"{QUEUE}-{index}.log", "w")  # noqa: SIM115
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "singlewindow",
                    "worker",
                    "--hostname",
                    f"{QUEUE}-{index}@localhost",
                    "--concurrency",
                    str(concurrency),
                    "--loglevel",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env={**os.environ, "CONN_MAX_AGE": "600"},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    from singlewindow.celery import app

    names = [f"{QUEUE}-{i}@localhost" for i in range(count)]
    deadline = time.monotonic() + 90
    while len(app.control.ping(destination=names, timeout=1) or []) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not start")
    return workers


def warm_up(count: int) -> None:
    """Each pool process loads the model on its first declaration; not part of the timing."""
    from risk.models import LaneDecision

    ids = [submit(draft()) for _ in range(count * 4)]
    deadline = time.monotonic() + 120
    while LaneDecision.objects.filter(declaration_id__in=ids).count() < len(ids):
        if time.monotonic() > deadline:
            raise RuntimeError("warm-up declarations were not scored")
        time.sleep(0.2)


_counter = iter(range(10**9))
_lock = threading.Lock()


def draft():
    from accounts.models import User
    from tests.factories import item_data, make_declaration

    trader = User.objects.get(username="trader_a")
    with _lock:
        n = next(_counter)
    return make_declaration(
        actor=trader,
        items=[
            item_data(hs_code="610910", description="T-shirts", unit="NAR"),
            item_data(hs_code="640399", description="Shoes", origin_country="VN"),
        ],
        invoice_number=f"BENCH-{QUEUE}-{n}",
    )


def submit(declaration) -> int:
    from clearance.services import declaration_submit

    declaration_submit(declaration=declaration, actor=declaration.created_by)
    return declaration.pk


def wait_scored(ids: list[int]) -> None:
    from risk.models import LaneDecision

    deadline = time.monotonic() + 900
    while LaneDecision.objects.filter(declaration_id__in=ids).count() < len(ids):
        if time.monotonic() > deadline:
            raise RuntimeError("not every declaration was scored within 15 minutes")
        time.sleep(0.2)


def drain_backlog(count: int, workers: int) -> None:
    """Scoring capacity alone: submit with the workers paused, then time how fast they drain."""
    from risk.models import LaneDecision
    from singlewindow.celery import app

    names = [f"{QUEUE}-{i}@localhost" for i in range(workers)]
    app.control.cancel_consumer(QUEUE, destination=names, reply=True)
    drafts = [draft() for _ in range(count)]
    vacuum()
    for declaration in drafts:
        submit(declaration)
    ids = [d.pk for d in drafts]
    started = time.time()
    app.control.add_consumer(QUEUE, destination=names, reply=True)
    wait_scored(ids)
    last = max(
        LaneDecision.objects.filter(declaration_id__in=ids).values_list("decided_at", flat=True)
    )
    span = last.timestamp() - started
    print(f"backlog of {count}: drained in {span:.1f} s, {count / span:.0f} declarations/s")


def memory_mb(process) -> list[tuple[int, float, float]]:
    """(pid, RSS, PSS) in MB of a worker's main process and each pool process.

    RSS counts shared library pages in every process; PSS splits them between
    the processes sharing them, so the PSS total is what the worker really uses.
    """
    import psutil

    main = psutil.Process(process.pid)
    rows = []
    for p in [main, *main.children(recursive=True)]:
        info = p.memory_full_info()
        rows.append((p.pid, info.rss / 2**20, info.pss / 2**20))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=2000, help="declarations to submit")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=2, help="pool processes per worker")
    parser.add_argument("--submitters", type=int, default=2, help="submitting processes")
    parser.add_argument("--train-rounds", type=int, default=None)
    parser.add_argument(
        "--rate", type=float, default=0, help="submissions per second (0: as fast as possible)"
    )
    parser.add_argument(
        "--backlog", type=int, default=1000, help="declarations for the drain test (0: skip)"
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from risk.models import LaneDecision, ModelVersion, RiskSettings, RuleSet
    from risk.replay import replay

    ensure_database()
    prepare(args.train_rounds)
    live = ModelVersion.objects.get(status="live")
    print(f"live model {live.label}, artifact {live.size_bytes / 2**20:.1f} MB")

    workers = start_workers(args.workers, args.concurrency)
    try:
        warm_up(args.workers * args.concurrency)
        drafts = [draft() for _ in range(args.n)]
        vacuum()
        print(f"{len(drafts)} drafts ready; submitting with {args.submitters} processes")
        # Separate processes, as submissions come from separate web workers:
        # threads of one process would share one interpreter lock.
        chunks = [[d.pk for d in drafts[i :: args.submitters]] for i in range(args.submitters)]
        interval = args.submitters / args.rate if args.rate else 0

        def run(chunk):
            from declarations.models import Declaration

            next_at = time.monotonic()
            for declaration_id in chunk:
                if interval:
                    next_at += interval
                    time.sleep(max(0.0, next_at - time.monotonic()))
                submit(Declaration.objects.select_related("created_by").get(pk=declaration_id))
            connection.close()

        connection.close()  # not shared with the forked submitters
        submitters = [
            multiprocessing.get_context("fork").Process(target=run, args=(c,)) for c in chunks
        ]
        started = time.time()
        for process in submitters:
            process.start()
        for process in submitters:
            process.join()
            if process.exitcode:
                raise RuntimeError("a submitter failed")
        submitted_in = time.time() - started
        ids = [d.pk for d in drafts]
        wait_scored(ids)
        rows = list(
            LaneDecision.objects.filter(declaration_id__in=ids).values_list(
                "declaration__submitted_at", "decided_at", "duration_ms", "lane"
            )
        )
        first_submit = min(r[0] for r in rows)
        last_lane = max(r[1] for r in rows)
        latencies = [(decided - submitted).total_seconds() for submitted, decided, _, _ in rows]
        span = (last_lane - first_submit).total_seconds()
        lanes = {lane: sum(1 for r in rows if r[3] == lane) for lane in ("green", "yellow", "red")}
        print(f"submitted {len(ids)} in {submitted_in:.1f} s ({len(ids) / submitted_in:.0f}/s)")
        print(
            f"submit to lane: {len(ids) / span:.0f} declarations/s "
            f"({len(ids)} in {span:.1f} s, {args.workers} worker x {args.concurrency} processes)"
        )
        print(
            "latency submit to lane: "
            f"p50 {percentile(latencies, 50):.3f} s, p95 {percentile(latencies, 95):.3f} s, "
            f"p99 {percentile(latencies, 99):.3f} s, max {max(latencies):.3f} s"
        )
        print(
            f"scoring time per declaration (in worker): median "
            f"{statistics.median(r[2] for r in rows)} ms; lanes {lanes}"
        )
        if args.backlog:
            drain_backlog(args.backlog, args.workers)
        for index, worker in enumerate(workers):
            rows = memory_mb(worker)
            for pid, rss, pss in rows:
                print(f"worker {index} process {pid}: RSS {rss:.0f} MB, PSS {pss:.0f} MB")
            print(
                f"worker {index} with the model loaded: {sum(r[2] for r in rows):.0f} MB "
                f"(sum of PSS), largest process RSS {max(r[1] for r in rows):.0f} MB"
            )
    finally:
        for worker in workers:
            try:
                os.killpg(worker.pid, 15)
                worker.wait(30)
            except ProcessLookupError:
                pass

    rule_set = RuleSet.objects.get(status="live")
    RiskSettings.current()
    result = replay(
        rule_set=rule_set,
        model_version=live,
        date_from=date(2020, 1, 1),
        date_to=date(2021, 12, 31),
    )
    print(
        f"replay: {result['declarations']} declarations ({result['items']} items) in "
        f"{result['seconds']} s; scoring {result['declarations_per_second']} declarations/s, "
        f"end to end {result['declarations'] / result['seconds']:.0f}/s "
        f"(reading records {result['load_seconds']} s)"
    )


if __name__ == "__main__":
    main()
