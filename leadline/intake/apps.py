from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "leadline.intake"
    label = "intake"
    verbose_name = "Intake: imports, forms and engagement feeds"

    def ready(self):
        # Registers the background job handlers (import_file) with the worker.
        # The capture configuration's change token: triggers installed after every migrate.
        from django.db.models.signals import post_migrate

        from leadline.intake import imports  # noqa: F401
        from leadline.intake.watch import on_post_migrate

        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="leadline-config-watch")
