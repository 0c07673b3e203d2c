from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "leadline.routing"
    label = "routing"
