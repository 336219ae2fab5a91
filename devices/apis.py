from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from clearance.services import device_events_record
from core.parsers import JSONParser
from devices.authentication import DeviceKeyAuthentication, IsDevice
from devices.messages import event_from_message
from devices.models import DeviceEvent

MAX_EVENTS = 500


class DeviceEventsInputSerializer(serializers.Serializer):
    events = serializers.ListField(
        child=serializers.JSONField(),
        min_length=1,
        max_length=MAX_EVENTS,
        help_text="The device's messages, each an object as over MQTT: message_id, seal, "
        "at (ISO 8601 with offset), and optionally status (closed, opened, tampered), lat "
        "and lon, temperature (°C), speed (km/h). A message that is not such an object is "
        "kept as malformed, with its problem in the answer.",
    )


class DeviceEventResultSerializer(serializers.Serializer):
    message_id = serializers.CharField()
    outcome = serializers.ChoiceField(choices=DeviceEvent.Outcome.choices)
    duplicate = serializers.BooleanField(help_text="Received before: counted, not stored again.")
    problem = serializers.CharField(help_text="What is wrong with a malformed message.")


class DeviceEventsOutputSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    results = DeviceEventResultSerializer(many=True)


class DeviceEventsApi(APIView):
    """A device's events over HTTP, for devices that do not speak MQTT: the same path
    as the MQTT listener's (clearance.services.device_events_record)."""

    authentication_classes = [DeviceKeyAuthentication]
    permission_classes = [IsDevice]
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Device events (e-seals, cargo sensors)",
        description=(
            "Sent by a registered device with its own key (`X-Device-Key`), never a user's "
            f"token. Up to {MAX_EVENTS} events per call. Each message id is stored once per "
            "device: sending a batch again (after a timeout, say) is harmless, and the "
            "answer says which were duplicates. Every message is kept, readable or not."
        ),
        request=DeviceEventsInputSerializer,
        responses={
            200: DeviceEventsOutputSerializer,
            401: OpenApiResponse(description="No device key, or an unknown one."),
            403: OpenApiResponse(description="The device is deactivated."),
        },
    )
    def post(self, request):
        serializer = DeviceEventsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        device = request.auth
        received_at = timezone.now()
        events = [
            event_from_message(
                message,
                device_identifier=device.identifier,
                channel=DeviceEvent.Channel.HTTP,
                received_at=received_at,
                device=device,
            )
            for message in serializer.validated_data["events"]
        ]
        batch = device_events_record(events=events)
        results = [
            {
                "message_id": event.message_id,
                "outcome": event.outcome,
                "duplicate": event.duplicate,
                "problem": event.problem,
            }
            for event in batch.events
        ]
        return Response(
            DeviceEventsOutputSerializer({"received": len(events), "results": results}).data
        )
