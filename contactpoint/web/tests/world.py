"""A small world for the page tests: two authorities, a child with a full record, a shielded child."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils import timezone

from contactpoint.access.actors import Actor
from contactpoint.access.services import shield_add
from contactpoint.access.tests.factories import make_user
from contactpoint.linkage.services import link_run
from contactpoint.linkage.tests.helpers import child_of, load, person
from contactpoint.records.models import (
    Carer,
    Child,
    EducationSetting,
    GPRegistration,
    OrganisationKind,
    ServiceType,
)
from contactpoint.records.tests.factories import (
    InvolvementFactory,
    OrganisationFactory,
    PractitionerFactory,
    SourceFactory,
)


@dataclass
class World:
    child: Child
    shielded: Child
    practitioner: Any  # users
    team: Any
    other_team: Any


def _load_children(directory: Path) -> tuple[Child, Child]:
    """Two children loaded through the real feed loader and linked, so that search finds them."""
    rows = [
        person("G1", given_name="Amelia", family_name="Khan", date_of_birth="2015-03-14", postcode="LS6 2AB"),
        person("G2", given_name="Lily", family_name="Morgan", date_of_birth="2016-07-02", postcode="LS7 3AA"),
    ]
    load(directory, "gp_registration", [{**row, "address_line_1": "12 Hyde Park Road"} for row in rows])
    link_run()
    amelia, lily = child_of("gp_registration", "G1"), child_of("gp_registration", "G2")
    assert amelia is not None and lily is not None
    return amelia, lily


def _carer(child: Child, source, family: str) -> None:
    Carer.objects.create(
        child=child,
        source=source,
        source_record_id="R",
        asserted_at=timezone.now(),
        given_name="Sara",
        family_name=family,
        relationship="mother",
        has_parental_responsibility=True,
        phone="07700 900001",
    )


def build_world(directory: Path) -> World:
    la = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="383", name="Leeds City Council")
    la.phone, la.email = "0113 222 4403", "contactpoint@leeds.example.gov.uk"
    la.save()
    OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="352", name="Manchester City Council")
    school = OrganisationFactory(
        kind=OrganisationKind.SCHOOL, code="1383001", name="Hyde Park Primary School", local_authority=la
    )
    gp = OrganisationFactory(
        kind=OrganisationKind.GP_PRACTICE, code="B86001", name="Burley Park Surgery", local_authority=la
    )
    source = SourceFactory(authority_rank=10)
    now = timezone.now()
    child, shielded = _load_children(directory)
    _carer(child, source, "Khan")
    EducationSetting.objects.create(
        child=child, source=source, source_record_id="R", asserted_at=now, organisation=school
    )
    GPRegistration.objects.create(
        child=child, source=source, source_record_id="R", asserted_at=now, organisation=gp
    )
    InvolvementFactory(
        child=child,
        source=source,
        organisation=la,
        service_type=ServiceType.SOCIAL_CARE,
        practitioner=PractitionerFactory(organisation=la, given_name="Sam", family_name="Okafor"),
        is_lead_professional=True,
        has_caf=True,
    )
    _carer(shielded, source, "Morgan")
    InvolvementFactory(child=shielded, source=source, organisation=la, service_type=ServiceType.SOCIAL_CARE)
    team = make_user("team-383", "la_management", organisation="383")
    other_team = make_user("team-352", "la_management", organisation="352")
    shield_add(child=shielded, actor=Actor.for_user(team.user), reason="Family in a refuge")
    return World(
        child=child,
        shielded=shielded,
        practitioner=make_user("practitioner-383", organisation="383").user,
        team=team.user,
        other_team=other_team.user,
    )
