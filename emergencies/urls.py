from django.urls import path

from emergencies import views

app_name = "emergencies"

urlpatterns = [
    path("", views.emergency_list_page, name="list"),
    path("<int:pk>/", views.emergency_page, name="detail"),
    path("consignees/", views.consignee_list_page, name="consignees"),
]
