from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "leadline.core"
    label = "core"
    verbose_name = "Leadline core"

    def ready(self) -> None:
        from leadline.core import checks  # noqa: F401  (registers system checks)
