import os
import shutil
import socket
import subprocess
import sys
import urllib.request

import pytest

from tests.conftest import ROOT, wait_for
from tests.factories import BANK_SECRET

# Chromium as root needs --no-sandbox; the rest keeps it off the network,
# which this machine closes anyway.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    from django.db import connections
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not executable:
        pytest.fail("Chromium is needed for the browser tests (apt-get install chromium).")
    # The thread's own connections, on which the test database's setup left the rows
    # serialized_rollback restores.
    own = {alias: connections[alias] for alias in connections}
    with sync_playwright() as playwright:
        # From here on Playwright marks its event loop running in this thread between
        # its calls, and Django's connection handler (an asgiref Local) then hands
        # out other connection objects, local to the context: without the rows to
        # restore, so every transactional test from now on (not only these) would
        # silently skip the restore and recreate content types and permissions with
        # new ids, and a later serialized test would fail on a duplicate key. The
        # thread keeps its connections instead.
        for alias, connection in own.items():
            connections[alias] = connection
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    # Whatever the Content-Security-Policy blocked (Chromium logs each refusal)
    # fails the test: a journey must not lean on an inline script or eval.
    refused = []
    context.on(
        "console",
        lambda message: "Content Security Policy" in message.text and refused.append(message.text),
    )
    page = context.new_page()
    yield page
    context.close()
    assert refused == [], refused


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sandbox_bank(live_server, settings):
    """The sandbox bank process, notifying the live server with the tests' secret."""
    port = free_port()
    log = open(ROOT / "var" / f"sandbox-bank-{port}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "sandbox_bank.py"), "--port", str(port),
         "--platform", live_server.url],
        env={**os.environ, "PAYMENT_NOTIFICATION_SECRET": BANK_SECRET},
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert process.poll() is None, f"the sandbox bank stopped; see {log.name}"
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    wait_for(answers, timeout=20)
    settings.PAYMENT_BANK_URL = f"{url}/pay"
    yield url
    process.terminate()
    process.wait(10)
    log.close()
