from django.apps import AppConfig


class SignpostingConfig(AppConfig):
    name = "contactpoint.signposting"
    label = "signposting"
    verbose_name = "Targeted scope (signposting)"
