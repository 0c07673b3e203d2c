from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "leadline.intake"
    label = "intake"
    verbose_name = "Intake: imports, forms and engagement feeds"

    def ready(self):
        # Registers the background job handlers (import_file) with the worker.
        from leadline.intake import imports  # noqa: F401
