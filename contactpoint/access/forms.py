import datetime

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from .models import Profile


class VettedAuthenticationForm(AuthenticationForm):
    """Sign-in refuses accounts whose vetting is not current, and says exactly why."""

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        profile = Profile.objects.filter(user=user).first()
        if profile is None:
            raise forms.ValidationError("This account has no ContactPoint profile.", code="no_profile")
        problems = profile.vetting_problems(datetime.date.today())
        if problems:
            raise forms.ValidationError(
                "This account cannot be used until its vetting is current: " + " ".join(problems),
                code="not_vetted",
            )
