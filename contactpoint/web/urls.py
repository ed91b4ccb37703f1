from django.contrib.auth import views as auth_views
from django.urls import path

from contactpoint.access.forms import VettedAuthenticationForm

from . import views

app_name = "web"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path(
        "sign-in/",
        auth_views.LoginView.as_view(
            template_name="web/sign_in.html", authentication_form=VettedAuthenticationForm
        ),
        name="login",
    ),
    path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
]
