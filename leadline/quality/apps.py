from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "leadline.quality"
    label = "quality"
    verbose_name = "Data quality"
