"""Devices that speak HTTP authenticate with their own credential, never a user's
token: `X-Device-Key: <key>`, stored as a digest (devices.services)."""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import BasePermission

from devices.models import Device
from devices.services import device_credential_digest

DEVICE_KEY_HEADER = "X-Device-Key"


class DeviceKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        key = request.headers.get(DEVICE_KEY_HEADER)
        if not key:
            return None
        device = Device.objects.filter(credential_digest=device_credential_digest(key)).first()
        if device is None:
            raise AuthenticationFailed("Unknown device key.")
        if not device.active:
            raise PermissionDenied("This device is deactivated.")
        # No user: the device itself is the credential (request.auth).
        return AnonymousUser(), device

    def authenticate_header(self, request) -> str:
        # A WWW-Authenticate value makes DRF answer 401 (not 403) without a key.
        return DEVICE_KEY_HEADER


class IsDevice(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Device)


class DeviceKeyScheme(OpenApiAuthenticationExtension):
    target_class = "devices.authentication.DeviceKeyAuthentication"
    name = "DeviceKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": DEVICE_KEY_HEADER,
            "description": "A device's own key, issued when an administrator registers it.",
        }
