from django.urls import path
from django.views.i18n import JavaScriptCatalog

from . import key_views, views

app_name = "access"

# Under /sign-in/: reachable after the password and before the second factor (see the middleware).
urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("set-up/", views.set_up, name="set_up"),
    path("keys/register/begin/", key_views.KeyRegistrationBegin.as_view(), name="key_registration_begin"),
    path(
        "keys/register/complete/",
        key_views.KeyRegistrationComplete.as_view(),
        name="key_registration_complete",
    ),
    path("keys/verify/begin/", key_views.KeyAuthenticationBegin.as_view(), name="key_authentication_begin"),
    path(
        "keys/verify/complete/",
        key_views.KeyAuthenticationComplete.as_view(),
        name="key_authentication_complete",
    ),
    # The security-key scripts' messages (django-otp-webauthn's catalogue).
    path(
        "keys/messages.js",
        JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]),
        name="key_messages",
    ),
]
