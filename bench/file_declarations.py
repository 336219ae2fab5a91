"""Filing throughput: N declarations of 5 items, created and lodged over the REST API.

By default each declaration takes two calls, create a draft then submit it;
with --lodge, one call creates it already lodged (`"lodge": true`).

Starts its own gunicorn against a fresh database (DATABASE_URL's server,
database `sw_bench_filing`, created and dropped), then files from C
concurrent clients, each on a keep-alive connection, and prints throughput
and latency percentiles as JSON. Scoring messages go to a queue of their own,
purged at the end: this measures filing, not risk assessment.

    .venv/bin/python bench/file_declarations.py --declarations 2000 --clients 8 --web-workers 3 \
        [--lodge]
"""

import argparse
import http.client
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "sw_bench_filing"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def payload(n: int) -> dict:
    items = [
        {
            "hs_code": hs,
            "description": f"Item {line} of shipment {n}",
            "origin_country": "CN",
            "quantity": "100",
            "unit": "NAR",
            "net_mass_kg": "20.000",
            "gross_mass_kg": "24.000",
            "value": "1000.00",
            "permits": [{"agency": "standards", "reference": permit}] if permit else [],
        }
        # The electrical goods cite the permits seed_demo issues to trader_a's company.
        for line, (hs, permit) in enumerate(
            [
                ("851713", "R-R-HBT-S5G128"),
                ("850440", "KC-SU10450-26001"),
                ("940360", ""),
                ("611030", ""),
                ("392690", ""),
            ],
            start=1,
        )
    ]
    return {
        "type": "IM",
        "procedure": "4000",
        "importer_name": "Hanbit Trading Co.",
        "importer_tax_id": "KR1048612345",
        "exporter_name": "Shenzhen Bright Mobile Devices Co., Ltd.",
        "exporter_country": "CN",
        "country_of_export": "CN",
        "country_of_destination": "KR",
        "office_of_entry": "KRPUS",
        "transport_mode": "1",
        "transport_document": f"MSKU{n:07d}",
        "invoice_number": f"BENCH-{uuid.uuid4().hex[:12]}",
        "currency": "USD",
        "incoterm": "FOB",
        "invoice_total": "5000.00",
        "freight": "250.00",
        "insurance": "20.00",
        "packages": 5,
        "gross_mass_kg": "120.000",
        "items": items,
    }


class Client:
    def __init__(self, port: int, token: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def post(self, path: str, body: dict | None) -> tuple[int, dict, float]:
        started = time.perf_counter()
        self.connection.request("POST", path, json.dumps(body or {}), self.headers)
        response = self.connection.getresponse()
        data = json.loads(response.read() or b"{}")
        return response.status, data, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--declarations", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--web-threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--lodge", action="store_true", help="one call per declaration")
    args = parser.parse_args()

    base = urlsplit(os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    admin_url = urlunsplit(base._replace(path="/postgres"))
    env = {
        **os.environ,
        "DATABASE_URL": urlunsplit(base._replace(path=f"/{DATABASE}")),
        # Production mode, as a real deployment runs (DEBUG keeps every query in memory).
        "DEBUG": "false",
        "SECRET_KEY": uuid.uuid4().hex * 2,
        "AUDIT_HMAC_KEYS": f"bench:{uuid.uuid4().hex}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "CELERY_QUEUE": f"bench-{uuid.uuid4().hex[:8]}",
        "LOG_LEVEL": "WARNING",
    }
    psql = ["psql", admin_url, "-q", "-c"]
    subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{DATABASE}"'], check=True)
    subprocess.run([*psql, f'CREATE DATABASE "{DATABASE}"'], check=True)
    manage = [sys.executable, str(ROOT / "manage.py")]
    for command in (
        ["migrate", "-v", "0"],
        ["load_reference_data", "-v", "0"],
        ["seed_demo", "-v", "0"],
    ):
        subprocess.run([*manage, *command], env=env, check=True)
    token = subprocess.run(
        [*manage, "shell", "-c",
         "from accounts.services import api_token_issue; from accounts.models import User; "
         "print(api_token_issue(user=User.objects.get(username='trader_a'))[1])"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]  # fmt: skip

    port = free_port()
    web = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "singlewindow.wsgi", "--bind",
         f"127.0.0.1:{port}", "--workers", str(args.web_workers),
         "--threads", str(args.web_threads), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        warm = Client(port, token)
        for n in range(args.warmup):
            status, body, _ = warm.post("/api/v1/declarations/", payload(-n - 1))
            assert status == 201, body
            status, body, _ = warm.post(f"/api/v1/declarations/{body['id']}/submit/", None)
            assert status == 202, body
            status, body, _ = warm.post("/api/v1/declarations/", {**payload(-n), "lodge": True})
            assert status == 201 and body["status"] == "submitted", body

        create_ms, submit_ms, failures, lodged = [], [], [], []
        lock = threading.Lock()
        counter = iter(range(args.declarations))

        def run() -> None:
            client = Client(port, token)
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                body = payload(n)
                if args.lodge:
                    body["lodge"] = True
                status, body, seconds = client.post("/api/v1/declarations/", body)
                if status != 201:
                    failures.append((status, body))
                    continue
                if args.lodge:
                    with lock:
                        create_ms.append(seconds * 1000)
                        lodged.append(body["status"] == "submitted")
                    continue
                status2, body2, seconds2 = client.post(
                    f"/api/v1/declarations/{body['id']}/submit/", None
                )
                with lock:
                    create_ms.append(seconds * 1000)
                    if status2 == 202:
                        submit_ms.append(seconds2 * 1000)
                        lodged.append(body2["status"] == "submitted")
                    else:
                        failures.append((status2, body2))

        started = time.perf_counter()
        threads = [threading.Thread(target=run) for _ in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        requests_ms = create_ms + submit_ms
        print(
            json.dumps(
                {
                    "mode": "lodge (1 call)" if args.lodge else "create + submit (2 calls)",
                    "declarations": args.declarations,
                    "items_each": 5,
                    "clients": args.clients,
                    "web_workers": args.web_workers,
                    "web_threads": args.web_threads,
                    "seconds": round(elapsed, 2),
                    "declarations_per_second": round(sum(lodged) / elapsed, 1),
                    "requests_per_second": round(len(requests_ms) / elapsed, 1),
                    "failures": len(failures),
                    "latency_ms": {
                        name: {
                            "p50": round(statistics.median(values), 1),
                            "p95": round(percentile(values, 95), 1),
                            "p99": round(percentile(values, 99), 1),
                        }
                        for name, values in (
                            ("lodge" if args.lodge else "create", create_ms),
                            ("submit", submit_ms),
                            ("any_request", requests_ms),
                        )
                        if values
                    },
                    "bench_client_max_rss_mb": round(
                        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
                    ),
                },
                indent=2,
            )
        )
        if failures:
            print("first failure:", failures[0], file=sys.stderr)
    finally:
        web.terminate()
        web.wait(10)
        from redis import Redis

        Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")).delete(
            env["CELERY_QUEUE"]
        )
        subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{DATABASE}"'], check=False)


if __name__ == "__main__":
    main()
