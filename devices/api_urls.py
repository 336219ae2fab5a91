from django.urls import path

from devices import apis

urlpatterns = [
    path("devices/events/", apis.DeviceEventsApi.as_view(), name="device-events"),
]
