from django.urls import path

from bench.floor import views

urlpatterns = [
    path("healthz", views.healthz),
    path("capture", views.capture),
    path("capture/batch", views.capture_batch),
]
