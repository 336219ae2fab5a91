from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("cashier/", views.cashier_page, name="cashier"),
    path("cashier/confirm/", views.cashier_confirm_page, name="cashier-confirm"),
    path("<str:reference>/receipt/", views.receipt_page, name="receipt"),
]
