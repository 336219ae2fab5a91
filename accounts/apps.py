from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and companies"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from accounts.middleware import remember_at_login

        user_logged_in.connect(remember_at_login, dispatch_uid="accounts.second_factor")
