"""Who is acting: a user with their role's permissions, organisation and area, and on whose behalf."""

import datetime
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied

from contactpoint.records.models import Organisation

from .models import Profile


class NotVetted(PermissionDenied):
    """The account's vetting is incomplete or lapsed; the message says what to renew."""


class AccountSuspended(PermissionDenied):
    """The account has been suspended (say, while misuse is investigated)."""


@dataclass(frozen=True)
class Actor:
    user_id: int
    username: str
    role: str
    permissions: frozenset[str]
    organisation: Organisation
    local_authority: Organisation
    on_behalf_of: "Actor | None" = None
    unscheduled_care: bool = False  # an emergency or unscheduled-care setting (notifications: CP-IS)

    @classmethod
    def for_user(cls, user: AbstractBaseUser, *, today: datetime.date | None = None) -> "Actor":
        """The acting identity of a signed-in user; refuses anyone whose vetting is not current."""
        profile = (
            Profile.objects.select_related("user", "role", "organisation", "local_authority")
            .filter(user_id=user.pk)
            .first()
        )
        return cls.for_profile(user, profile, today=today)

    @classmethod
    def for_profile(
        cls, user: AbstractBaseUser, profile: Profile | None, *, today: datetime.date | None = None
    ) -> "Actor":
        """`for_user` with the profile (its role and organisations) already read with the user,
        as a bearer token's look-up does: one statement per API call instead of two."""
        if profile is None:
            raise PermissionDenied("This account has no ContactPoint profile: it cannot use the index.")
        if profile.suspended_at is not None or not user.is_active:
            raise AccountSuspended("This account is suspended: it cannot use the index.")
        problems = profile.vetting_problems(today or datetime.date.today())
        if problems:
            raise NotVetted(" ".join(problems))
        return cls(
            user_id=profile.user_id,
            username=profile.user.get_username(),
            role=profile.role.code,
            permissions=frozenset(profile.role.permissions),
            organisation=profile.organisation,
            local_authority=profile.local_authority,
            unscheduled_care=profile.unscheduled_care,
        )

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def on_behalf_of_user(self, user: AbstractBaseUser) -> "Actor":
        """Mediated access: this actor (say a service-desk colleague) acts for another user.

        What may be seen is the requester's, not the mediator's; both are recorded by the audit
        log (the mediator as actor, the requester as on-behalf-of).
        """
        requester = Actor.for_user(user)
        return Actor(
            user_id=self.user_id,
            username=self.username,
            role=requester.role,
            permissions=requester.permissions & self.permissions,
            organisation=requester.organisation,
            local_authority=requester.local_authority,
            on_behalf_of=requester,
            unscheduled_care=self.unscheduled_care or requester.unscheduled_care,
        )
