from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "contactpoint.notifications"
    label = "notifications"
    verbose_name = "Notifications"
