"""Real brokers and real listener processes for the device tests.

The broker is MQTT_URL's (the machine's Mosquitto) when set, else a Mosquitto of
the test's own when the binary is installed, else the embedded amqtt broker
`./dev start` uses: the tests run in every case. Each test has a topic prefix
and a client id of its own, and removes its listener's session at the end, so
tests sharing a broker never see each other's messages.
"""

import getpass
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path

import paho.mqtt.client as mqtt

from scripts.devstack import embedded_broker_command, mosquitto_binary
from tests.conftest import ROOT, _test_database_url, wait_for

MOSQUITTO = mosquitto_binary()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Mosquitto:
    """A Mosquitto of our own on a free port, persisting to its own directory: it can
    be stopped (its sessions and queued messages saved) and started again."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.config = workdir / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {workdir}/\n"
            "max_queued_messages 1000000\n"
            f"log_dest file {workdir}/mosquitto.log\n"
            # Started as root, Mosquitto would switch to its own user, who may not
            # write here: it stays the user who runs the tests.
            f"user {getpass.getuser()}\n"
        )
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(lambda: port_open(self.port), timeout=10, interval=0.05)

    def stop(self) -> None:
        """SIGTERM: Mosquitto writes its persistence file on the way out."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class EmbeddedBroker:
    """amqtt, the broker `./dev start` embeds when no MQTT_URL is given."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            embedded_broker_command(self.port, self.workdir),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(lambda: port_open(self.port), timeout=20, interval=0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(10)


def own_broker(workdir: Path):
    return Mosquitto(workdir) if MOSQUITTO else EmbeddedBroker(workdir)


class Listener:
    """`manage.py listen_devices` in a process of its own, on the test database."""

    def __init__(self, *, broker_url: str, prefix: str, client_id: str, log: Path, protocol="5"):
        self.broker_url, self.prefix, self.client_id = broker_url, prefix, client_id
        self.log, self.protocol = log, protocol
        self.process = None

    def start(self, **env) -> None:
        environment = {
            **os.environ,
            "DATABASE_URL": _test_database_url(),
            "CONN_MAX_AGE": "0",
            "MQTT_URL": self.broker_url,
            "MQTT_CLIENT_ID": self.client_id,
            "MQTT_TOPIC_PREFIX": self.prefix,
            "MQTT_PROTOCOL": self.protocol,
            "MQTT_RECONNECT_MAX_SECONDS": "2",
            **env,
        }
        self.connected_before = self.connections()
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "listen_devices"],
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_connected(self.connected_before + 1)

    def connections(self) -> int:
        if not self.log.exists():
            return 0
        return self.log.read_text().count("INFO devices.listener connected")

    def wait_connected(self, count: int, timeout: float = 30) -> None:
        def connected():
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            return self.connections() >= count

        wait_for(connected, timeout=timeout, interval=0.05)

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(20)

    def forget_session(self) -> None:
        """End the listener's session at the broker (a clean start with no expiry),
        so nothing is queued for a client id no one will use again."""
        from devices.listener import Broker

        broker = Broker.from_url(self.broker_url)
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5 if self.protocol == "5" else mqtt.MQTTv311,
            clean_session=True if self.protocol != "5" else None,
        )
        try:
            if self.protocol == "5":
                client.connect(broker.host, broker.port, clean_start=True)
            else:
                client.connect(broker.host, broker.port)
            client.loop_start()
            time.sleep(0.2)
            client.disconnect()
            client.loop_stop()
        except OSError:
            pass


class Publisher:
    """A device's side: publishes messages QoS 1 and waits for the broker to take them."""

    def __init__(self, broker_url: str, prefix: str):
        from devices.listener import Broker

        broker = Broker.from_url(broker_url)
        self.prefix = prefix
        self.client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"test-device-{uuid.uuid4().hex[:8]}",
        )
        self.client.max_inflight_messages_set(1000)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def publish(self, device_id: str, *bodies) -> None:
        infos = [
            self.client.publish(
                f"{self.prefix}/{device_id}/events",
                body if isinstance(body, bytes) else json.dumps(body),
                qos=1,
            )
            for body in bodies
        ]
        for info in infos:
            info.wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def listening(broker_url: str, tmp_path: Path, **env):
    """A listener on a topic prefix and client id of the test's own, and a publisher."""
    tag = uuid.uuid4().hex[:8]
    prefix = f"test-{tag}/devices"
    listener = Listener(
        broker_url=broker_url,
        prefix=prefix,
        client_id=f"test-listener-{tag}",
        log=ROOT / "var" / f"listener-{tag}.log",
        protocol=env.pop("protocol", "5"),
    )
    listener.start(**env)
    publisher = Publisher(broker_url, prefix)
    try:
        yield listener, publisher
    finally:
        publisher.close()
        listener.stop()
        listener.forget_session()


class TcpProxy:
    """A TCP relay to PostgreSQL that the test can cut (every connection dropped, new
    ones refused) and restore: the database going away, as the listener sees it."""

    def __init__(self, target_port: int):
        import threading

        self.target_port = target_port
        self.port = free_port()
        self.server = None
        self.connections: list = []
        self.lock = threading.Lock()

    def start(self) -> None:
        import threading

        self.server = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        threading.Thread(target=self._accept, args=(self.server,), daemon=True).start()

    def _accept(self, server) -> None:
        import threading

        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.server.close()
        with self.lock:
            for connection in self.connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                    connection.close()
                except OSError:
                    pass
            self.connections.clear()
