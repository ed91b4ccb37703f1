from django.contrib import admin
from django.urls import include, path, re_path

from contactpoint.api import urls as api_urls
from contactpoint.api.problems import unknown_address

admin.site.site_header = "ContactPoint management"
admin.site.site_title = "ContactPoint management"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("sign-in/", include("contactpoint.access.urls")),
    path("account/", include("contactpoint.access.account_urls")),
    path("audit/", include("contactpoint.audit.urls")),
    path("subject-access/", include("contactpoint.subject_access.urls")),
    re_path(r"^api/(?P<version>v1)/", include((api_urls.v1, "api"), namespace="v1")),
    path("api/", include((api_urls.docs, "api"), namespace="api")),
    path("fhir/", include("contactpoint.api.fhir.urls")),
    re_path(r"^(?:api|fhir)/(?P<rest>.*)$", unknown_address),
    path("", include("contactpoint.web.urls")),
]

handler404 = "contactpoint.api.problems.page_not_found"
handler500 = "contactpoint.api.problems.server_error"
