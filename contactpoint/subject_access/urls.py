from django.urls import path

from . import views

app_name = "subject_access"

urlpatterns = [
    path("<str:contactpoint_id>/", views.subject_access, name="export"),
]
