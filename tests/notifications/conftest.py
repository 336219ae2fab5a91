import asyncio
import threading
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from accounts.models import User

# The agencies' declaration-under-review fixture, shared with these tests.
from tests.agencies.conftest import reviewed  # noqa: F401
from tests.risk.conftest import free_port, no_random_selection  # noqa: F401


class SmtpSink:
    """A real SMTP server (aiosmtpd) in the test process that keeps what it accepts.

    `hold("before_accept")` makes it sit on the next message's DATA without
    answering, so the sender is mid-send; if the sender is gone when it is
    released, nothing was accepted (the message is dropped, as a real server
    drops a transaction whose client vanished before the reply).
    `hold("after_accept")` keeps the message first and then sits on the reply:
    the window where the server has it and the sender does not know.
    """

    def __init__(self):
        self.messages = []
        self.holding = threading.Event()
        self._release = threading.Event()
        self._hold = None
        self.refuse: dict[str, str] = {}  # address -> SMTP reply to RCPT TO
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def hold(self, when: str) -> None:
        self._hold = when
        self.holding.clear()
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        hold, self._hold = self._hold, None  # only the next message is held
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        if hold == "after_accept":
            self.messages.append(message)
        if hold:
            self.holding.set()
            while not self._release.is_set():
                await asyncio.sleep(0.05)
            if server.transport is None or server.transport.is_closing():
                return "421 the client went away"
        if hold != "after_accept":
            self.messages.append(message)
        return "250 Message accepted"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages]


@pytest.fixture
def smtp_sink():
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.release()
    sink.controller.stop()


@pytest.fixture
def mail_settings(settings, smtp_sink):
    """This process sends e-mail to the sink (the outbox rows are written when set)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 10
    return settings


def worker_mail_env(sink: SmtpSink, **extra) -> dict:
    """Environment of a worker that e-mails to the sink."""
    return {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": sink.port,
        "EMAIL_USE_TLS": "false",
        "EMAIL_TIMEOUT": "20",
        **extra,
    }


def give_addresses(*users) -> dict[int, str]:
    """An e-mail address for each user, by id."""
    addresses = {user.pk: f"{user.username}@example.test" for user in users}
    for pk, address in addresses.items():
        User.objects.filter(pk=pk).update(email=address)
    return addresses
