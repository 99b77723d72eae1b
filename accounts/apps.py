from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from . import account_cache

        # The API's cached accounts move on with every write of a user, a membership or a team.
        account_cache.connect()
