from django.urls import path

from guarantees import views

app_name = "guarantees"

urlpatterns = [
    path("", views.guarantee_list_page, name="list"),
    path("new/", views.guarantee_propose_page, name="propose"),
    path("<int:pk>/", views.guarantee_page, name="detail"),
    path("<int:pk>/raise/", views.guarantee_raise_page, name="raise"),
    path(
        "proposals/<int:pk>/approve/",
        views.guarantee_proposal_approve_page,
        name="proposal-approve",
    ),
    path(
        "proposals/<int:pk>/refuse/", views.guarantee_proposal_refuse_page, name="proposal-refuse"
    ),
]
