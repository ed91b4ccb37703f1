from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "contactpoint.search"
    label = "search"
    verbose_name = "Search"
