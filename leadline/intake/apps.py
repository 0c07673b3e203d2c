from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "leadline.intake"
    label = "intake"
