from django.urls import path

from declarations import views

app_name = "declarations"

urlpatterns = [
    path("", views.declaration_list_page, name="list"),
    path("new/", views.declaration_create_page, name="create"),
    path("new/item-row/", views.item_row_partial, name="item-row"),
    path("check/", views.declaration_check_partial, name="check"),
    path("<int:pk>/", views.declaration_detail_page, name="detail"),
    path("<int:pk>/edit/", views.declaration_edit_page, name="edit"),
    path("<int:pk>/amend/", views.declaration_amend_page, name="amend"),
    path("<int:pk>/invoice-check/", views.invoice_check_partial, name="invoice-check"),
    path("<int:pk>/submit/", views.declaration_submit_page, name="submit"),
    path("<int:pk>/cancel/", views.declaration_cancel_page, name="cancel"),
    path("<int:pk>/pay/", views.declaration_pay_page, name="pay"),
    path("<int:pk>/documents/", views.document_upload_page, name="document-upload"),
    path(
        "<int:pk>/documents/<int:document_pk>/",
        views.document_download_page,
        name="document",
    ),
]
