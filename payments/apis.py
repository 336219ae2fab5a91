from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from clearance.services import BankNotification, payment_confirm
from core.parsers import JSONParser
from declarations.models import Payment
from payments.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


class PaymentNotificationInputSerializer(serializers.Serializer):
    notification_id = serializers.CharField(
        max_length=64, help_text="The bank's unique id of this notification; sent once."
    )
    payment_reference = serializers.CharField(
        max_length=64, help_text="The payment order's reference (PAY-...)."
    )
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    currency = serializers.CharField(max_length=3)
    bank_reference = serializers.CharField(
        max_length=64, help_text="The bank's reference of the transfer."
    )
    paid_at = serializers.DateTimeField(help_text="When the payer paid, ISO 8601 with offset.")


class PaymentConfirmedOutputSerializer(serializers.Serializer):
    payment_reference = serializers.CharField(source="reference")
    status = serializers.ChoiceField(choices=Payment.Status.choices)
    receipt_number = serializers.CharField()


class PaymentNotificationApi(APIView):
    """The payer's bank tells the platform an order was paid. Server to server: no user
    session and no CSRF token (so no session authentication); the HMAC signature
    over the timestamp and the raw body is the only credential."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    # The signature covers the JSON body as sent; no other encoding is accepted.
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Bank notification: a payment order was paid",
        description=(
            f"Sent by the payer's bank. `{SIGNATURE_HEADER}` is the hex HMAC-SHA256, with the "
            f"shared secret, of `<timestamp>.<raw body>`; `{TIMESTAMP_HEADER}` is that Unix "
            "timestamp, within the configured tolerance (300 s by default) of the platform's "
            "clock. Each `notification_id` is accepted once. The payment is confirmed, the "
            "declaration paid and its goods released if nothing else holds them; anything "
            "that does not match the order is refused and changes nothing."
        ),
        auth=[],
        parameters=[
            OpenApiParameter(
                SIGNATURE_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True
            ),
            OpenApiParameter(
                TIMESTAMP_HEADER, OpenApiTypes.INT, OpenApiParameter.HEADER, required=True
            ),
        ],
        request=PaymentNotificationInputSerializer,
        responses={
            200: PaymentConfirmedOutputSerializer,
            400: OpenApiResponse(
                description="A field does not match the order (`fields` names it), unknown "
                "reference, or the notification id was received already."
            ),
            401: OpenApiResponse(description="Missing or wrong signature, or stale timestamp."),
            409: OpenApiResponse(description="The payment was confirmed already."),
        },
    )
    def post(self, request):
        # The raw body, before anything parses it: the signature covers these bytes.
        verify(
            secret=settings.PAYMENT_NOTIFICATION_SECRET,
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
            body=request.body,
            tolerance=settings.PAYMENT_NOTIFICATION_TOLERANCE_SECONDS,
        )
        serializer = PaymentNotificationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        payment = payment_confirm(
            payment_reference=data["payment_reference"],
            amount=data["amount"],
            currency=data["currency"],
            bank_reference=data["bank_reference"],
            paid_at=data["paid_at"],
            source=Payment.Source.BANK,
            notification=BankNotification(
                notification_id=data["notification_id"], body=dict(request.data)
            ),
        )
        return Response(PaymentConfirmedOutputSerializer(payment).data)
