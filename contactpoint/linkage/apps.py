from django.apps import AppConfig


class LinkageConfig(AppConfig):
    name = "contactpoint.linkage"
    label = "linkage"
    verbose_name = "Record linkage"
