from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "contactpoint.web"
    label = "web"
    verbose_name = "Practitioner web service"
