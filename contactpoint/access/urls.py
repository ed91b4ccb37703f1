from django.urls import path

from . import views

app_name = "access"

urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("set-up/", views.set_up, name="set_up"),
]
