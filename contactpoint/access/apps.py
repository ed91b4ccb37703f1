from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "contactpoint.access"
    label = "access"
    verbose_name = "Users and access"
