from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/code/", views.login_code_page, name="login-code"),
    path("second-factor/", views.second_factor_page, name="second-factor"),
    path("second-factor/setup/", views.second_factor_setup_page, name="second-factor-setup"),
    path(
        "second-factor/recovery-codes/",
        views.recovery_codes_regenerate_page,
        name="recovery-codes-regenerate",
    ),
    path("second-factor/disable/", views.second_factor_disable_page, name="second-factor-disable"),
]
