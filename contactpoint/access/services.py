"""Writes for users and roles."""

import datetime
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import transaction

from contactpoint.records.models import Organisation, OrganisationKind

from .models import Profile, Role
from .roles import ROLES


def roles_sync() -> tuple[int, int]:
    """Make the Role rows match roles.py exactly; safe to run any number of times.

    Returns (created, updated). Roles no longer declared are kept if users still hold them,
    so a mistaken edit cannot strand accounts; they simply stop granting permissions.
    """
    created = updated = 0
    for definition in ROLES:
        wanted = {
            "name": definition.name,
            "description": definition.description,
            "permissions": sorted(definition.permissions),
        }
        role, was_created = Role.objects.get_or_create(code=definition.code, defaults=wanted)
        if was_created:
            created += 1
        elif any(getattr(role, key) != value for key, value in wanted.items()):
            Role.objects.filter(pk=role.pk).update(**wanted)
            updated += 1
    Role.objects.exclude(code__in=[r.code for r in ROLES]).update(permissions=[])
    return created, updated


@transaction.atomic
def user_create(
    *,
    username: str,
    role_code: str,
    organisation_code: str,
    local_authority_code: str | None = None,
    vetted: bool = False,
    password: str | None = None,
    today: datetime.date | None = None,
) -> tuple[AbstractUser, str]:
    """Create an account bound to an organisation and an area. Returns the user and its password.

    An organisation first named here is recorded as accredited: creating an account for its
    staff is the operator's act of accreditation, and an unaccredited one would lock them out.
    """
    role = Role.objects.filter(code=role_code).first()
    if role is None:
        raise ValidationError(
            f"Unknown role {role_code!r}; run sync_roles or choose one of the declared roles."
        )
    local_authority = _local_authority_get_or_create(local_authority_code or organisation_code)
    organisation = _organisation_get_or_create(organisation_code, local_authority)
    if get_user_model().objects.filter(username=username).exists():
        raise ValidationError(f"A user called {username!r} already exists.")
    password = password or secrets.token_urlsafe(18)
    user = get_user_model().objects.create_user(username=username, password=password)
    today = today or datetime.date.today()
    vetting_date = today if vetted else None
    Profile.objects.create(
        user=user,
        role=role,
        organisation=organisation,
        local_authority=local_authority,
        dbs_checked_on=vetting_date,
        training_completed_on=vetting_date,
        agreement_signed_on=vetting_date,
    )
    return user, password


def _local_authority_get_or_create(code: str) -> Organisation:
    la, _ = Organisation.objects.get_or_create(
        kind=OrganisationKind.LOCAL_AUTHORITY,
        code=code,
        defaults={"name": f"Local authority {code}", "accredited": True},
    )
    return la


def _organisation_get_or_create(code: str, local_authority: Organisation) -> Organisation:
    if code == local_authority.code:
        return local_authority
    existing = Organisation.objects.filter(code=code)
    if existing.count() > 1:
        raise ValidationError(f"More than one organisation has code {code!r}.")
    organisation = existing.first()
    if organisation is None:
        organisation = Organisation.objects.create(
            kind=OrganisationKind.SERVICE_PROVIDER,
            code=code,
            name=f"Organisation {code}",
            local_authority=local_authority,
            accredited=True,
        )
    return organisation
