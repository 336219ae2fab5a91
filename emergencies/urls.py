from django.urls import path

from emergencies import views

app_name = "emergencies"

urlpatterns = [
    path("", views.emergency_list_page, name="list"),
    path("new/", views.emergency_declare_page, name="declare"),
    path("<int:pk>/", views.emergency_page, name="detail"),
    path("<int:pk>/extend/", views.emergency_extend_page, name="extend"),
    path("<int:pk>/end/", views.emergency_end_page, name="end"),
    path(
        "proposals/<int:pk>/approve/",
        views.emergency_proposal_approve_page,
        name="proposal-approve",
    ),
    path(
        "proposals/<int:pk>/refuse/", views.emergency_proposal_refuse_page, name="proposal-refuse"
    ),
    path("consignees/", views.consignee_list_page, name="consignees"),
    path("consignees/register/", views.consignee_register_page, name="consignee-register"),
    path("consignees/<int:pk>/decide/", views.consignee_decide_page, name="consignee-decide"),
    path("reports/", views.report_list_page, name="reports"),
    path("<int:pk>/report/", views.report_page, name="report"),
    path("<int:pk>/report.csv", views.report_csv, name="report-csv"),
    path("<int:pk>/report.pdf", views.report_pdf, name="report-pdf"),
]
