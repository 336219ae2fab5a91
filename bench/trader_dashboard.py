"""The trader's dashboard on a company with 100,000 declarations.

Creates a database (`sw_bench_dashboard` on DATABASE_URL's server), seeds
N declarations for one company with INSERT ... SELECT generate_series
(with their items and the company group's grants), then times the
dashboard page and the list API in-process for common requests, and prints
p50/p95 latency and the number of queries per request as JSON.

    .venv/bin/python bench/trader_dashboard.py --declarations 100000
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "sw_bench_dashboard"

SEED_SQL = """
INSERT INTO declarations_declaration (
    company_id, created_by_id, type, procedure, importer_name, importer_tax_id, exporter_name,
    exporter_country, consignor_name, consignee_name, country_of_export, country_of_origin,
    country_of_destination, office_of_entry, transport_mode, transport_document, invoice_number,
    currency, incoterm, invoice_total, freight, insurance, packages, gross_mass_kg, version,
    status, lane, created_at, updated_at, submitted_at
)
SELECT %(company)s, %(user)s, 'IM', '4000', 'Hanbit Trading Co.', 'KR1048612345', 'Exporter',
       'CN', '', '', 'CN', '', 'KR', 'KRPUS', '1', 'MSKU' || n, 'SEED-' || n,
       'USD', 'FOB', 100 + (n %% 5000), 0, 0, 1, 50, 1,
       (ARRAY['draft', 'under_review', 'released', 'released', 'released', 'assessed',
              'queried'])[1 + n %% 7],
       CASE WHEN n %% 7 = 0 THEN ''
            ELSE (ARRAY['green', 'green', 'green', 'yellow', 'red'])[1 + n %% 5] END,
       now() - (n || ' minutes')::interval, now(), now() - (n || ' minutes')::interval
FROM generate_series(1, %(n)s) AS n;

INSERT INTO declarations_item (declaration_id, line_no, hs_code, description, origin_country,
    quantity, unit, net_mass_kg, value, preference, certificate_of_origin)
SELECT id, 1, '851713', 'Smartphones', 'CN', 10, 'NAR', 5, invoice_total, '', ''
FROM declarations_declaration WHERE invoice_number LIKE 'SEED-%%';

INSERT INTO declarations_declarationgroupobjectpermission
    (group_id, permission_id, content_object_id)
SELECT %(group)s, p.id, d.id
FROM declarations_declaration d
CROSS JOIN auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id
WHERE d.invoice_number LIKE 'SEED-%%' AND ct.app_label = 'declarations'
  AND ct.model = 'declaration' AND p.codename IN ('view_declaration', 'change_declaration');
ANALYZE;
"""

REQUESTS = {
    "page: first page": "/declarations/",
    "page: status filter": "/declarations/?status=assessed",
    "page: search invoice": "/declarations/?q=SEED-4242",
    "page: sort by value": "/declarations/?ordering=-value",
    "page: deep page": "/declarations/?page=3000",
    "api: first page": "/api/v1/declarations/",
    "api: lane red, 100 a page": "/api/v1/declarations/?lane=red&page_size=100",
    "api: created range": "/api/v1/declarations/?created_after=2026-01-01&status=released",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--declarations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    args = parser.parse_args()

    base = urlsplit(os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    admin_url = urlunsplit(base._replace(path="/postgres"))
    os.environ["DATABASE_URL"] = urlunsplit(base._replace(path=f"/{DATABASE}"))
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    psql = ["psql", admin_url, "-q", "-c"]
    subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{DATABASE}"'], check=True)
    subprocess.run([*psql, f'CREATE DATABASE "{DATABASE}"'], check=True)

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "singlewindow.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    try:
        for command in ("migrate", "load_reference_data", "seed_demo"):
            call_command(command, verbosity=0)
        trader = User.objects.select_related("company").get(username="trader_a")
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                SEED_SQL,
                {
                    "n": args.declarations,
                    "company": trader.company_id,
                    "user": trader.pk,
                    "group": trader.company.group_id,
                },
            )
        seed_seconds = time.perf_counter() - started

        client = Client()
        client.force_login(trader)
        results = {}
        for name, url in REQUESTS.items():
            timings = []
            for _ in range(args.repeat):
                with CaptureQueriesContext(connection) as queries:
                    t = time.perf_counter()
                    response = client.get(url)
                    timings.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            timings.sort()
            results[name] = {
                "p50_ms": round(statistics.median(timings), 1),
                "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 1),
                "queries": len(queries),
            }
        print(
            json.dumps(
                {
                    "declarations": args.declarations,
                    "seed_seconds": round(seed_seconds, 1),
                    "requests": results,
                },
                indent=2,
            )
        )
    finally:
        connection.close()
        if not args.keep:
            subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{DATABASE}"'], check=False)


if __name__ == "__main__":
    main()
