from django.contrib import admin
from django.urls import include, path

from leadline.api.router import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("settings/admin/", admin.site.urls),
    path("", include("leadline.web.intake_views")),
    path("", include("leadline.web.urls")),
]
