from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "ContactPoint management"
admin.site.site_title = "ContactPoint management"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("sign-in/", include("contactpoint.access.urls")),
    path("audit/", include("contactpoint.audit.urls")),
    path("", include("contactpoint.web.urls")),
]
