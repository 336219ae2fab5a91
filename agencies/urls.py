from django.urls import path

from agencies import views

app_name = "agencies"

urlpatterns = [
    path("queue/", views.queue_page, name="queue"),
    path("reviews/<int:pk>/", views.review_page, name="review"),
]
