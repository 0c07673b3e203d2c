from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "leadline.quality"
    label = "quality"
    verbose_name = "Data quality"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from leadline.deals.models import Account

        post_save.connect(_account_saved, sender=Account, dispatch_uid="quality_account_keys")


def _account_saved(sender, instance, raw=False, **kwargs) -> None:
    # An account created or renamed anywhere (conversion, admin, API) is matchable at once.
    if not raw:
        from leadline.quality.accounts import record_account_keys

        record_account_keys([instance])
