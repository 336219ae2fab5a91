from django.urls import path

from declarations import views

app_name = "declarations"

urlpatterns = [
    path("", views.declaration_list_page, name="list"),
    path("new/", views.declaration_create_page, name="create"),
    path("new/item-row/", views.item_row_partial, name="item-row"),
    path("<int:pk>/", views.declaration_detail_page, name="detail"),
    path("<int:pk>/submit/", views.declaration_submit_page, name="submit"),
]
