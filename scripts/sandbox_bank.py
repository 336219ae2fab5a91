"""A sandbox bank, as payment gateways offer one: the demo's and the browser tests'
stand-in for the payer's bank.

The platform sends the payer here with a payment order (reference, amount,
currency, return URL). Pay notifies the platform, server to server, with a
notification signed as a real bank signs it (HMAC-SHA256 of "<timestamp>.<raw
body>" with the shared secret, in X-Signature and X-Timestamp), then sends the
payer back; Cancel sends them back without paying.

It is another company's system: the standard library only, no Django, nothing
of the platform's code or database. Run by scripts/devstack.py and by the
browser tests; the secret comes from PAYMENT_NOTIFICATION_SECRET.

    PAYMENT_NOTIFICATION_SECRET=... python scripts/sandbox_bank.py --port 8100 \\
        --platform http://127.0.0.1:8000
"""

import argparse
import hashlib
import hmac
import html
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

NOTIFICATION_PATH = "/api/v1/payments/notifications/"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · Sandbox Bank</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; background: #f3f5f4; margin: 0; }}
header {{ background: #0b5d3b; color: #fff; padding: 12px 24px; font-weight: 600; }}
main {{ max-width: 480px; margin: 40px auto; background: #fff; border-radius: 8px;
  padding: 24px 28px; box-shadow: 0 1px 3px #0002; }}
.amount {{ font-size: 28px; font-weight: 700; }} .muted {{ color: #5c6b64; font-size: 14px; }}
button {{ font: inherit; padding: 8px 18px; border-radius: 4px; border: 1px solid #0b5d3b;
  background: #fff; cursor: pointer; margin-right: 8px; }}
button.pay {{ background: #0b5d3b; color: #fff; }} .error {{ color: #a61b1b; }}
</style></head>
<body><header>Sandbox Bank <span class="muted" style="color:#cde">· not a real bank</span></header>
<main>{body}</main></body></html>"""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class Bank:
    def __init__(self, *, platform: str, secret: str, return_origins: list[str]):
        self.platform = platform.rstrip("/")
        self.secret = secret
        self.return_origins = [origin.rstrip("/") for origin in return_origins]

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        if path == "/health":
            return self.respond(start_response, "200 OK", "ok", content_type="text/plain")
        if path != "/pay":
            return self.page(start_response, "404 Not Found", "Not found", "<p>Nothing here.</p>")
        if method == "GET":
            return self.order_page(start_response, parse_qs(environ.get("QUERY_STRING", "")))
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            form = parse_qs(environ["wsgi.input"].read(length).decode())
            return self.pay(start_response, form)
        return self.respond(start_response, "405 Method Not Allowed", "", content_type="text/plain")

    # --- the payer's pages -------------------------------------------------------------

    def order(self, fields: dict) -> dict | None:
        order = {name: fields.get(name, [""])[0] for name in
                 ("reference", "amount", "currency", "return_url")}  # fmt: skip
        if not all(order.values()):
            return None
        # Back only to the platform: the sandbox is no open redirect.
        split = urlsplit(order["return_url"])
        if f"{split.scheme}://{split.netloc}" not in self.return_origins:
            return None
        return order

    def order_page(self, start_response, query):
        order = self.order(query)
        if order is None:
            return self.page(
                start_response, "400 Bad Request", "Bad order",
                "<p class=error>This payment order is incomplete or returns elsewhere.</p>",
            )  # fmt: skip
        e = {k: html.escape(v) for k, v in order.items()}
        try:
            shown = f"{Decimal(order['amount']):,.2f} {e['currency']}"
        except InvalidOperation:
            shown = f"{e['amount']} {e['currency']}"
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{value}">' for name, value in e.items()
        )
        body = (
            f"<h1>Pay {shown} for {e['reference']}</h1>"
            f"<p class=amount>{shown}</p>"
            f"<p>To: Customs Single Window (duties and taxes)<br>Payment order: "
            f"<strong>{e['reference']}</strong></p>"
            f'<form method="post" action="/pay">{hidden}'
            '<button type="submit" name="action" value="pay" class="pay">Pay</button>'
            '<button type="submit" name="action" value="cancel">Cancel</button></form>'
            "<p class=muted>Paying debits your sandbox account and tells customs at once.</p>"
        )
        return self.page(start_response, "200 OK", f"Pay {e['reference']}", body)

    def pay(self, start_response, form):
        order = self.order(form)
        if order is None:
            return self.page(
                start_response, "400 Bad Request", "Bad order",
                "<p class=error>This payment order is incomplete or returns elsewhere.</p>",
            )  # fmt: skip
        if form.get("action", [""])[0] != "pay":
            return self.redirect(start_response, order["return_url"])
        status, detail = self.notify(order)
        if status != 200:
            body = (
                f"<h1>Customs refused the payment</h1><p class=error>{html.escape(detail)}</p>"
                "<p>Nothing was debited.</p>"
                f'<p><a href="{html.escape(order["return_url"])}">Back to Single Window</a></p>'
            )
            return self.page(start_response, "502 Bad Gateway", "Refused", body)
        return self.redirect(start_response, order["return_url"])

    # --- the server-to-server notification ---------------------------------------------

    def notify(self, order: dict) -> tuple[int, str]:
        body = json.dumps(
            {
                "notification_id": f"SBX-NTF-{uuid.uuid4().hex}",
                "payment_reference": order["reference"],
                "amount": order["amount"],
                "currency": order["currency"],
                "bank_reference": f"SBX-{uuid.uuid4().hex[:12].upper()}",
                "paid_at": datetime.now(UTC).isoformat(),
            }
        ).encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(
            self.platform + NOTIFICATION_PATH,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Timestamp": timestamp,
                "X-Signature": sign(self.secret, timestamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, ""
        except urllib.error.HTTPError as error:
            try:
                detail = json.loads(error.read()).get("detail", "")
            except ValueError:
                detail = ""
            return error.code, detail or f"HTTP {error.code}"
        except OSError as error:
            return 0, f"Customs could not be reached: {error}"

    # --- plumbing ----------------------------------------------------------------------

    def page(self, start_response, status, title, body):
        return self.respond(
            start_response, status, PAGE.format(title=html.escape(title), body=body)
        )

    def redirect(self, start_response, location):
        start_response("303 See Other", [("Location", location), ("Content-Length", "0")])
        return [b""]

    def respond(self, start_response, status, text, content_type="text/html; charset=utf-8"):
        data = text.encode()
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
        return [data]


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        sys.stderr.write(f"sandbox-bank {self.address_string()} {format % args}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_BANK_PORT", 8100)))
    parser.add_argument(
        "--platform", default=os.environ.get("PLATFORM_URL", "http://127.0.0.1:8000"),
        help="where the platform's notification endpoint is (server to server)",
    )  # fmt: skip
    parser.add_argument(
        "--return-origin", action="append", default=[],
        help="an origin the payer may be sent back to (default: the platform's)",
    )  # fmt: skip
    args = parser.parse_args()
    secret = os.environ.get("PAYMENT_NOTIFICATION_SECRET", "")
    if not secret:
        sys.exit("PAYMENT_NOTIFICATION_SECRET must be set: the bank signs with it.")
    bank = Bank(
        platform=args.platform, secret=secret, return_origins=args.return_origin or [args.platform]
    )
    with make_server(
        args.host, args.port, bank, server_class=ThreadingServer, handler_class=QuietHandler
    ) as server:
        print(f"Sandbox bank on http://{args.host}:{args.port}/pay", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
