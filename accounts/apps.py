from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from .auth_projection import user_row_saved
        from .models import User

        # A User row saved from any door renews the person's account generation (accounts/auth_projection.py).
        post_save.connect(user_row_saved, sender=User, dispatch_uid="accounts.user_row_saved")
        post_delete.connect(user_row_saved, sender=User, dispatch_uid="accounts.user_row_deleted")
