import datetime
import time

from contactpoint.access.actors import Actor
from contactpoint.access.services import roles_sync, user_create
from contactpoint.records.models import Organisation, OrganisationKind


def actor_for(
    role: str,
    organisation: Organisation,
    *,
    username: str | None = None,
    vetted: bool = True,
    local_authority: Organisation | None = None,
) -> Actor:
    """A vetted user of the given role at the organisation (in its area, or the one given), as an Actor."""
    roles_sync()
    la = local_authority or (
        organisation
        if organisation.kind == OrganisationKind.LOCAL_AUTHORITY
        else organisation.local_authority
    )
    user, _ = user_create(
        username=username or f"{role}-{organisation.code}",
        role_code=role,
        organisation_code=organisation.code,
        local_authority_code=la.code if la else organisation.code,
        vetted=vetted,
        password="a-long-password-for-tests",
    )
    return Actor.for_user(user, today=datetime.date.today())


def sign_in_verified(client, user) -> None:
    """Sign a test client in as if it had passed both factors."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from contactpoint.access.mfa import SECOND_FACTOR_AT

    device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[SECOND_FACTOR_AT] = time.time()  # just now: sensitive acts need no fresh confirmation
    session.save()


TEST_PASSWORD = "a-long-password-for-tests"


def make_user(name: str, role: str = "practitioner", *, vetted: bool = True, organisation: str = "383"):
    """A user created through the create_user command, as an operator would; returns its profile."""
    import io

    from django.core.management import call_command

    from contactpoint.access.models import Profile

    options = ["--role", role, "--organisation", organisation, "--password", TEST_PASSWORD]
    call_command("create_user", name, *options, *(["--vetted"] if vetted else []), stdout=io.StringIO())
    return Profile.objects.get(user__username=name)
