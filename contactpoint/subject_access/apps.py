from django.apps import AppConfig


class SubjectAccessConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "contactpoint.subject_access"
