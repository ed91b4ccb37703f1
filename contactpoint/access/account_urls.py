from django.urls import path

from . import views

app_name = "account"

# Behind the second factor: the user's own security settings, and "confirm it's you".
urlpatterns = [
    path("security/", views.security, name="security"),
    path("confirm/", views.confirm, name="confirm"),
]
