from django.urls import path

from emergencies import views

app_name = "emergencies"

urlpatterns = [
    path("", views.emergency_list_page, name="list"),
    path("<int:pk>/", views.emergency_page, name="detail"),
    path("consignees/", views.consignee_list_page, name="consignees"),
    path("reports/", views.report_list_page, name="reports"),
    path("<int:pk>/report/", views.report_page, name="report"),
    path("<int:pk>/report.csv", views.report_csv, name="report-csv"),
    path("<int:pk>/report.pdf", views.report_pdf, name="report-pdf"),
]
