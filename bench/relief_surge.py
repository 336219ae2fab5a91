"""Relief surge: lodgement to release for relief consignments and ordinary imports
when an emergency brings ten times the usual traffic (after Typhoon Haiyan the
Philippines received ten times its usual cargo).

Starts the platform as `./dev start` runs it, on a fresh database (DATABASE_URL's
server, database `sw_bench_surge`, dropped at the end unless --keep): gunicorn (2
processes x 4 threads), a Celery worker (concurrency 2) that scores, Celery beat, and
the sandbox bank; production settings (DEBUG off). `seed_demo` loads the demo, then
the bench declares an emergency over Busan (KRPUS: tents, blankets, water purifiers,
generators; priority, lane lowered, duty relief) through two administrators, approves
a humanitarian consignee (Korea Relief Cross), posts --officers customs officers at
Busan, and makes live a rule set that sends the goods of the mix to their lanes:

    ordinary (Hanbit Trading, trader_a)        relief (Korea Relief Cross)
    610910 T-shirts    green   50 %            630622 tents             green          25 %
    640399 footwear    yellow  35 %            630140 blankets   yellow -> green        25 %
    420221 handbags    red     15 %            842121 purifiers  red    -> yellow       35 %
                                               850211 generators red (forced: not lowered) 15 %

Everything then goes over HTTP, as traders, banks and officers do it:

- Filing: declarations arrive at random (Poisson) at the usual rate for
  --phase-seconds, then at --surge-factor times it for as long; --relief-share of
  them relief consignments. Each is lodged in one call (`"lodge": true`) by its
  trader's software, from a pool of --filers keep-alive connections.
- Scoring: the real Celery worker, from the real broker.
- Paying: each trader's software (--payers connections) looks for assessed
  declarations every second and pays at the sandbox bank, which notifies the platform
  (HMAC-signed) as a bank does. Relief consignments owe nothing (duty relief): they
  are released when customs approves.
- Officers: the bench cannot measure people, so it models them, and that is the
  honest limit of these numbers. --officers customs officers work the Busan queue
  over the API, each one review at a time, in the queue's own order (relief first,
  then red, then oldest): take the first open review, claim it (409: a colleague
  took it, take the next), spend a fixed time on it (--yellow-seconds for a
  documentary check, --red-seconds for a physical inspection: the officers'
  capacity, scaled from hours to seconds), record the check as finding nothing, and
  approve. Green lanes need no officer (customs approves them automatically). Only
  customs reviews the goods of the mix. Capacity is what makes priority visible:
  below it every declaration is cleared as it comes; above it a queue forms, and
  the queue's order decides who waits.

Printed: queue depth over time (declarations waiting for a lane, scoring messages
in the broker, reviews waiting for an officer, relief and ordinary, declarations
waiting for payment, and the CPU the platform's processes use), then
lodgement-to-release time (p50, p90, p99, seconds) for relief and ordinary
declarations lodged in each phase, by lane, and throughput. The bench's clients run
on the same machine as the platform.

    .venv/bin/python bench/relief_surge.py [--usual-rate 0.5] [--surge-factor 10] \\
        [--phase-seconds 60] [--relief-share 0.25] [--officers 2] [--keep]
"""

import argparse
import http.client
import json
import os
import queue
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import closing
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "sw_bench_surge"
NGO = ("Korea Relief Cross", "KR2208800001")
HANBIT = ("Hanbit Trading Co.", "KR1048612345")

# HS code, description, unit value (USD), kg per unit, weight in the mix.
ORDINARY_GOODS = [
    ("610910", "Cotton T-shirts", "4.00", "0.20", 50),
    ("640399", "Leather footwear", "18.00", "0.90", 35),
    ("420221", "Leather handbags", "35.00", "0.80", 15),
]
RELIEF_GOODS = [
    ("630622", "Family tents, synthetic fibres", "120.00", "18.00", 25),
    ("630140", "Blankets, synthetic fibres", "6.00", "1.50", 25),
    ("842121", "Water purification units", "450.00", "35.00", 35),
    ("850211", "Diesel generating sets, 20 kVA", "3800.00", "420.00", 15),
]

SETUP = r"""
import json, sys
from datetime import timedelta
from django.utils import timezone
from accounts.models import Company, User
from accounts.services import api_token_issue, company_create, user_create
from agencies.models import Agency
from emergencies.services import (consignee_decide, consignee_register,
    emergency_declare_propose, emergency_proposal_approve)
from risk.services import rule_create, rule_set_approve, rule_set_draft_create, rule_set_submit

officers, ngo_name, ngo_tax_id = int(sys.argv[1]), sys.argv[2], sys.argv[3]
admin = User.objects.get(username="admin")
admin2 = user_create(username="admin_bench", password="bench-pass-1234", role="admin")
ngo = company_create(name=ngo_name, tax_id=ngo_tax_id)
relief_trader = user_create(username="relief_trader", password="bench-pass-1234",
                            role="trader", company=ngo)
consignee = consignee_register(actor=relief_trader, kind="red_cross", mission="Disaster relief")
consignee_decide(actor=admin, consignee_id=consignee.pk, status="approved")
now = timezone.now()
proposal = emergency_declare_propose(
    actor=admin, office_codes=["KRPUS"], reason="Typhoon landfall (bench)",
    name="Typhoon Haiyan (bench)", starts_at=now - timedelta(minutes=5),
    ends_at=now + timedelta(days=14), hs_prefixes=["6306", "6301", "842121", "8502"],
    priority=True, lower_lane=True, duty_relief=True, documents_may_follow=True,
    documents_within_days=30,
)
emergency_proposal_approve(proposal_id=proposal.pk, actor=admin2)
analyst, analyst2 = User.objects.get(username="analyst"), User.objects.get(username="analyst2")
rules = rule_set_draft_create(actor=analyst, note="relief surge bench")
for name, prefix, score, lane in [
    ("Bench: footwear valuation", "6403", 40, ""),
    ("Bench: handbags, counterfeits", "4202", 70, ""),
    ("Bench: blankets, documentary check", "6301", 40, ""),
    ("Bench: purifiers, physical check", "842121", 70, ""),
    ("Bench: generators, security", "8502", 0, "red"),
]:
    rule_create(actor=analyst, rule_set=rules, name=name, hs_prefix=prefix, score=score,
                force_lane=lane)
rule_set_submit(actor=analyst, rule_set=rules)
rule_set_approve(actor=analyst2, rule_set=rules)
customs = Agency.objects.get(code="customs")
tokens = {"officers": []}
for n in range(officers):
    officer = user_create(username=f"bench_officer_{n + 1}", password="bench-pass-1234",
                          role="officer", agency=customs, offices=["KRPUS"])
    tokens["officers"].append(api_token_issue(user=officer)[1])
tokens["ordinary"] = api_token_issue(user=User.objects.get(username="trader_a"))[1]
tokens["relief"] = api_token_issue(user=relief_trader)[1]
tokens["emergency"] = proposal.emergency_id
print(json.dumps(tokens))
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Client:
    """One keep-alive connection, JSON in and out, with a token."""

    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, json.dumps(body) if body else None, headers)
                response = self.connection.getresponse()
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}
            except (http.client.HTTPException, ConnectionError):
                # gunicorn closed an idle keep-alive connection: open another, once.
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def declaration_body(kind: str, invoice: str, rng: random.Random) -> dict:
    goods = RELIEF_GOODS if kind == "relief" else ORDINARY_GOODS
    hs, description, unit_value, unit_kg, _ = rng.choices(goods, weights=[g[4] for g in goods])[0]
    quantity = rng.randint(5, 200) if kind == "relief" else rng.randint(100, 2000)
    value = f"{float(unit_value) * quantity:.2f}"
    net = float(unit_kg) * quantity
    name, tax_id = NGO if kind == "relief" else HANBIT
    return {
        "lodge": True,
        "type": "IM",
        "procedure": "4000",
        "importer_name": name,
        "importer_tax_id": tax_id,
        "exporter_name": "Relief Logistics Hub" if kind == "relief" else "Guangzhou Textiles Ltd.",
        "exporter_country": "SG" if kind == "relief" else "CN",
        "country_of_export": "SG" if kind == "relief" else "CN",
        "country_of_destination": "KR",
        "office_of_entry": "KRPUS",
        "transport_mode": "1",
        "transport_document": f"MSKU{rng.randint(0, 9_999_999):07d}",
        "invoice_number": invoice,
        "currency": "USD",
        "incoterm": "CIF",
        "invoice_total": value,
        "packages": max(1, quantity // 10),
        "gross_mass_kg": f"{net * 1.1:.3f}",
        "items": [
            {
                "hs_code": hs,
                "description": description,
                "origin_country": "SG" if kind == "relief" else "CN",
                "quantity": str(quantity),
                "unit": "NAR",
                "net_mass_kg": f"{net:.3f}",
                "gross_mass_kg": f"{net * 1.1:.3f}",
                "value": value,
            }
        ],
    }


class Run:
    def __init__(self, args, port: int, bank_port: int, tokens: dict, database_url: str):
        self.args, self.port, self.bank_port = args, port, bank_port
        self.tokens, self.database_url = tokens, database_url
        self.stop = threading.Event()
        self.filing_done = threading.Event()
        self.jobs: queue.Queue = queue.Queue()
        self.failures: list = []
        self.lock = threading.Lock()
        self.late: list[float] = []  # how far behind its arrival time a filing started
        self.samples: list[dict] = []
        self.phase = "warm-up"
        self.started = time.monotonic()
        self.officer_reviews = 0

    # ---- filing ----------------------------------------------------------------------

    def arrivals(self) -> None:
        """Poisson arrivals: the usual rate, then the surge; each a job for a filer."""
        rng = random.Random(self.args.seed)
        counter = 0
        for phase, rate in (
            ("usual", self.args.usual_rate),
            ("surge", self.args.usual_rate * self.args.surge_factor),
        ):
            self.phase = phase
            start = time.monotonic()
            at = start
            while True:
                at += rng.expovariate(rate)
                if at - start >= self.args.phase_seconds:
                    break
                time.sleep(max(0.0, at - time.monotonic()))
                counter += 1
                kind = "relief" if rng.random() < self.args.relief_share else "ordinary"
                self.jobs.put((at, kind, f"SURGE-{phase[0].upper()}-{counter:06d}"))
        self.phase = "drain"
        for _ in range(self.args.filers):
            self.jobs.put(None)

    def filer(self, seed: int) -> None:
        rng = random.Random(seed)
        clients = {kind: Client(self.port, self.tokens[kind]) for kind in ("ordinary", "relief")}
        while (job := self.jobs.get()) is not None:
            at, kind, invoice = job
            with self.lock:
                self.late.append(time.monotonic() - at)
            status, body = clients[kind].call(
                "POST", "/api/v1/declarations/", declaration_body(kind, invoice, rng)
            )
            if status != 201:
                with self.lock:
                    self.failures.append(("lodge", status, body))

    # ---- paying -----------------------------------------------------------------------

    def payer(self, kind: str, share: int) -> None:
        """The trader's software: pays every assessed declaration at the bank. --payers
        of them per trader, each paying the declarations whose id falls to its share."""
        client = Client(self.port, self.tokens[kind])
        bank = http.client.HTTPConnection("127.0.0.1", self.bank_port, timeout=60)
        paid: set[int] = set()
        while not self.stop.is_set():
            status, page = client.call("GET", "/api/v1/declarations/?status=assessed&page_size=200")
            waiting = [
                d["id"]
                for d in page.get("results", [])
                if d["id"] not in paid and d["id"] % self.args.payers == share
            ]
            for pk in waiting:
                status, order = client.call("POST", f"/api/v1/declarations/{pk}/pay/")
                if status not in (200, 201):
                    with self.lock:
                        self.failures.append(("pay", status, order))
                    continue
                form = urlencode(
                    {
                        "reference": order["reference"],
                        "amount": order["amount"],
                        "currency": order["currency"],
                        "return_url": f"http://127.0.0.1:{self.port}/declarations/{pk}/",
                        "action": "pay",
                    }
                )
                bank.request(
                    "POST", "/pay", form, {"Content-Type": "application/x-www-form-urlencoded"}
                )
                response = bank.getresponse()
                response.read()
                if response.status != 303:
                    with self.lock:
                        self.failures.append(("bank", response.status, order["reference"]))
                    continue
                paid.add(pk)
            if not waiting:
                self.stop.wait(1.0)

    # ---- officers ---------------------------------------------------------------------

    def officer(self, token: str) -> None:
        """A customs officer working the queue in its order, one review at a time."""
        client = Client(self.port, token)
        seconds = {"yellow": self.args.yellow_seconds, "red": self.args.red_seconds}
        kinds = {"yellow": "documentary", "red": "physical"}
        while not self.stop.is_set():
            _, page = client.call("GET", "/api/v1/reviews/?status=open&page_size=20")
            rows = page.get("results", [])
            for row in rows:
                status, _ = client.call("POST", f"/api/v1/reviews/{row['id']}/claim/")
                if status == 409:
                    continue  # a colleague took it first
                lane = row["lane"]
                self.stop.wait(seconds.get(lane, 0))
                if lane in kinds:
                    status, body = client.call(
                        "POST",
                        f"/api/v1/reviews/{row['id']}/inspections/",
                        {"kind": kinds[lane], "finding": "no_discrepancy"},
                    )
                    if status != 201:
                        with self.lock:
                            self.failures.append(("inspect", status, body))
                status, body = client.call("POST", f"/api/v1/reviews/{row['id']}/approve/")
                if status != 200:
                    with self.lock:
                        self.failures.append(("approve", status, body))
                with self.lock:
                    self.officer_reviews += 1
                break
            else:
                self.stop.wait(0.2)

    # ---- watching ---------------------------------------------------------------------

    def counts(self, cursor) -> dict:
        cursor.execute(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE status = 'submitted'),
                   count(*) FILTER (WHERE status IN ('under_review', 'queried')),
                   count(*) FILTER (WHERE status = 'assessed'),
                   count(*) FILTER (WHERE status = 'released')
            FROM declarations_declaration WHERE invoice_number LIKE 'SURGE-%'
            """
        )
        lodged, unscored, in_review, unpaid, released = cursor.fetchone()
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE relief), count(*) FILTER (WHERE NOT relief)
            FROM agencies_review WHERE status IN ('open', 'in_progress')
            """
        )
        relief_reviews, ordinary_reviews = cursor.fetchone()
        return {
            "lodged": lodged,
            "awaiting_lane": unscored,
            "in_review": in_review,
            "reviews_relief": relief_reviews,
            "reviews_ordinary": ordinary_reviews,
            "awaiting_payment": unpaid,
            "released": released,
        }

    def watch(self, redis, queue_name: str, processes: dict) -> None:
        import psutil
        import psycopg2

        connection = psycopg2.connect(self.database_url)
        connection.autocommit = True
        cpu = {}  # the platform's processes (not this bench's), as psutil sees them

        def platform_cpu() -> float:
            total = 0.0
            for started in processes.values():
                try:
                    tree = psutil.Process(started.pid)
                    for process in [tree, *tree.children(recursive=True)]:
                        seen = cpu.setdefault(process.pid, process)
                        total += seen.cpu_percent(None)
                except psutil.NoSuchProcess:
                    continue
            return total

        platform_cpu()
        with connection.cursor() as cursor:
            while not self.stop.is_set():
                sample = {
                    "t": round(time.monotonic() - self.started),
                    "phase": self.phase,
                    "broker": redis.llen(queue_name),
                    **self.counts(cursor),
                    "platform_cpu_percent": round(platform_cpu()),
                }
                self.samples.append(sample)
                print(
                    f"{sample['t']:>5} s {sample['phase']:<6} lodged {sample['lodged']:>5}  "
                    f"awaiting lane {sample['awaiting_lane']:>4} (broker {sample['broker']:>3})  "
                    f"reviews waiting relief {sample['reviews_relief']:>4} ordinary "
                    f"{sample['reviews_ordinary']:>4}  awaiting payment "
                    f"{sample['awaiting_payment']:>4}  released {sample['released']:>5}  "
                    f"cpu {sample['platform_cpu_percent']:>3} %",
                    flush=True,
                )
                self.stop.wait(self.args.sample_seconds)
        connection.close()


def results(database_url: str) -> list[tuple]:
    import psycopg2

    with closing(psycopg2.connect(database_url)) as connection, connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT invoice_number, emergency_id IS NOT NULL, lane, status,
                   EXTRACT(EPOCH FROM released_at - submitted_at), submitted_at
            FROM declarations_declaration WHERE invoice_number LIKE 'SURGE-%'
            """
        )
        return cursor.fetchall()


def figures(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 1),
        "p90": round(percentile(values, 90), 1),
        "p99": round(percentile(values, 99), 1),
    }


def report(rows: list[tuple], run: Run) -> dict:
    phases = {"U": "usual", "S": "surge"}
    out: dict = {"lodgement_to_release_seconds": {}, "by_lane_seconds": {}}
    for code, phase in phases.items():
        for relief, group in ((True, "relief"), (False, "ordinary")):
            mine = [r for r in rows if r[0][6] == code and r[1] == relief]
            times = [float(r[4]) for r in mine if r[4] is not None]
            entry = figures(times)
            entry["lodged"] = len(mine)
            out["lodgement_to_release_seconds"][f"{phase} {group}"] = entry
            for lane in ("green", "yellow", "red"):
                lane_times = [float(r[4]) for r in mine if r[2] == lane and r[4] is not None]
                if lane_times:
                    out["by_lane_seconds"][f"{phase} {group} {lane}"] = figures(lane_times)
    for code, phase in phases.items():
        lodged = sum(1 for r in rows if r[0][6] == code)
        out[f"{phase}_lodged_per_second"] = round(lodged / run.args.phase_seconds, 2)
    released = [r for r in rows if r[4] is not None]
    if released:
        ends = [r[5].timestamp() + float(r[4]) for r in released]
        span = max(ends) - min(r[5].timestamp() for r in rows)
        out["released_per_second_overall"] = round(len(released) / span, 2)
    out["not_released"] = sum(1 for r in rows if r[4] is None)
    out["lanes"] = {
        group: {
            lane: sum(1 for r in rows if r[1] == relief and r[2] == lane)
            for lane in ("green", "yellow", "red")
        }
        for relief, group in ((True, "relief"), (False, "ordinary"))
    }
    late = sorted(run.late)
    out["filing_started_late_seconds_p99"] = round(percentile(late, 99), 2) if late else None
    out["officer_reviews"] = run.officer_reviews
    out["failures"] = len(run.failures)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--usual-rate", type=float, default=0.5, help="declarations per second")
    parser.add_argument("--surge-factor", type=float, default=10)
    parser.add_argument("--phase-seconds", type=float, default=60)
    parser.add_argument("--relief-share", type=float, default=0.25)
    parser.add_argument("--officers", type=int, default=2, help="customs officers at Busan")
    parser.add_argument("--yellow-seconds", type=float, default=1.5, help="a documentary check")
    parser.add_argument("--red-seconds", type=float, default=4.0, help="a physical inspection")
    parser.add_argument("--filers", type=int, default=8, help="concurrent filing connections")
    parser.add_argument("--payers", type=int, default=4, help="paying connections per trader")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--sample-seconds", type=float, default=5)
    parser.add_argument("--drain-seconds", type=float, default=900, help="at most, after filing")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    base = urlsplit(os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    admin_url = urlunsplit(base._replace(path="/postgres"))
    database_url = urlunsplit(base._replace(path=f"/{DATABASE}"))
    port, bank_port = free_port(), free_port()
    queue_name = f"bench-surge-{uuid.uuid4().hex[:8]}"
    secret = uuid.uuid4().hex
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": uuid.uuid4().hex * 2,
        "AUDIT_HMAC_KEYS": f"bench:{uuid.uuid4().hex}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "TIME_ZONE": "Asia/Seoul",
        "CELERY_QUEUE": queue_name,
        "PAYMENT_NOTIFICATION_SECRET": secret,
        "PAYMENT_BANK_URL": f"http://127.0.0.1:{bank_port}/pay",
        "LOG_LEVEL": "WARNING",
    }
    psql = ["psql", admin_url, "-q", "-c"]
    subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{DATABASE}"'], check=True)
    subprocess.run([*psql, f'CREATE DATABASE "{DATABASE}"'], check=True)
    manage = [sys.executable, str(ROOT / "manage.py")]
    for command in (["migrate", "-v", "0"], ["load_reference_data", "-v", "0"],
                    ["seed_demo", "-v", "0"]):  # fmt: skip
        subprocess.run([*manage, *command], env=env, check=True, cwd=ROOT)
    tokens = json.loads(
        subprocess.run(
            [*manage, "shell", "-c", f"import sys; sys.argv = ['setup', '{args.officers}', "
             f"'{NGO[0]}', '{NGO[1]}']\n" + SETUP],
            env=env, check=True, capture_output=True, text=True, cwd=ROOT,
        ).stdout.strip().splitlines()[-1]
    )  # fmt: skip

    bin_dir = Path(sys.executable).parent
    log_dir = Path(tempfile.mkdtemp(prefix="relief-surge-"))
    beat_schedule = log_dir / "celerybeat-schedule"
    commands = {
        "web": [str(bin_dir / "gunicorn"), "singlewindow.wsgi", "--bind", f"127.0.0.1:{port}",
                "--workers", "2", "--threads", "4"],
        "worker": [str(bin_dir / "celery"), "-A", "singlewindow", "worker", "--loglevel",
                   "WARNING", "--concurrency", str(args.worker_concurrency)],
        "beat": [str(bin_dir / "celery"), "-A", "singlewindow", "beat", "--loglevel", "WARNING",
                 "--schedule", str(beat_schedule)],
        "bank": [sys.executable, str(ROOT / "scripts" / "sandbox_bank.py"), "--port",
                 str(bank_port), "--platform", f"http://127.0.0.1:{port}", "--return-origin",
                 f"http://127.0.0.1:{port}"],
    }  # fmt: skip
    processes = {}
    try:
        for name, command in commands.items():
            log = open(log_dir / f"{name}.log", "w")  # noqa: SIM115
            processes[name] = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while True:  # the web answers, and /health/ sees a worker on the queue
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/health/")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the platform did not start; see {log_dir}")
            time.sleep(0.5)
        print(
            f"platform up on :{port} (logs {log_dir}); emergency {tokens['emergency']}; "
            f"{args.officers} officers; usual {args.usual_rate}/s, surge "
            f"{args.usual_rate * args.surge_factor}/s, {args.phase_seconds:.0f} s each; "
            f"relief share {args.relief_share:.0%}",
            flush=True,
        )
        from redis import Redis

        redis = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
        run = Run(args, port, bank_port, tokens, database_url)
        threads = [
            threading.Thread(target=run.watch, args=(redis, queue_name, processes), daemon=True),
            *(threading.Thread(target=run.payer, args=(kind, share), daemon=True)
              for kind in ("ordinary", "relief") for share in range(args.payers)),
            *(threading.Thread(target=run.officer, args=(t,), daemon=True)
              for t in tokens["officers"]),
        ]  # fmt: skip
        filers = [threading.Thread(target=run.filer, args=(args.seed + n,), daemon=True)
                  for n in range(args.filers)]  # fmt: skip
        for thread in (*threads, *filers):
            thread.start()
        run.arrivals()
        for thread in filers:
            thread.join()
        deadline = time.monotonic() + args.drain_seconds
        import psycopg2

        with closing(psycopg2.connect(database_url)) as connection:
            connection.autocommit = True
            cursor = connection.cursor()
            while time.monotonic() < deadline:
                counts = run.counts(cursor)
                if counts["released"] == counts["lodged"]:
                    break
                time.sleep(1)
        run.stop.set()
        time.sleep(0.5)
        rows = results(database_url)
        summary = report(rows, run)
        print(json.dumps(summary, indent=2))
        if run.failures:
            print("first failures:", run.failures[:3], file=sys.stderr)
        if args.keep:
            print(
                f"kept database {DATABASE}: the report is at /emergencies/"
                f"{tokens['emergency']}/report/ of a platform started on it",
            )
    finally:
        for process in processes.values():
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(30)
            except ProcessLookupError:
                pass
        from redis import Redis

        Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")).delete(queue_name)
        if not args.keep:
            subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{DATABASE}"'], check=False)


if __name__ == "__main__":
    main()
