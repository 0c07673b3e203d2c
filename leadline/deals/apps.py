from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "leadline.deals"
    label = "deals"
