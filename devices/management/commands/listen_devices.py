"""Listen to the devices' MQTT messages and record them (see devices.listener)."""

import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from clearance.services import device_events_record
from devices.listener import PROTOCOLS, DeviceListener


class Command(BaseCommand):
    help = (
        "Subscribe to the devices' events at MQTT_URL (persistent session, QoS 1), store "
        "and evaluate them in batches, acknowledge each batch once committed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--protocol",
            choices=sorted(PROTOCOLS),
            default=settings.MQTT_PROTOCOL,
            help="MQTT version to speak (default MQTT_PROTOCOL: %(default)s).",
        )

    def handle(self, *args, protocol, **options):
        if not settings.MQTT_URL:
            raise CommandError("MQTT_URL is not set: name the broker, mqtt://host:port.")
        logging.getLogger("devices").setLevel(logging.INFO)
        try:
            listener = DeviceListener(
                url=settings.MQTT_URL,
                client_id=settings.MQTT_CLIENT_ID,
                topic_prefix=settings.MQTT_TOPIC_PREFIX,
                record=lambda events: device_events_record(events=events),
                batch_size=settings.DEVICE_BATCH_SIZE,
                batch_ms=settings.DEVICE_BATCH_MS,
                reconnect_min_seconds=settings.MQTT_RECONNECT_MIN_SECONDS,
                reconnect_max_seconds=settings.MQTT_RECONNECT_MAX_SECONDS,
                protocol=protocol,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None

        def stop(signum, frame):
            listener.stop()

        # Stop between batches: the one being recorded commits and is acknowledged.
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(
            f"Listening on {listener.topic} at {listener.broker.host}:{listener.broker.port} "
            f"as {settings.MQTT_CLIENT_ID}",
            ending="\n",
        )
        self.stdout.flush()
        listener.run()
