"""A small world for the page tests: two authorities, a child with a full record, a shielded child."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from contactpoint.access.actors import Actor
from contactpoint.access.services import shield_add
from contactpoint.access.tests.factories import make_user
from contactpoint.records.models import (
    Carer,
    Child,
    ChildBirthDate,
    ChildGender,
    EducationSetting,
    GPRegistration,
    OrganisationKind,
    ServiceType,
)
from contactpoint.records.tests.factories import (
    ChildAddressFactory,
    ChildFactory,
    ChildNameFactory,
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


def _child(source, given: str, family: str, born: datetime.date, postcode: str) -> Child:
    child = ChildFactory()
    item = {"child": child, "source": source, "is_chosen": True}
    ChildNameFactory(**item, given_name=given, family_name=family)
    now = timezone.now()
    ChildGender.objects.create(**item, source_record_id="R", asserted_at=now, gender="female")
    ChildBirthDate.objects.create(**item, source_record_id="R", asserted_at=now, date_of_birth=born)
    ChildAddressFactory(**item, address_line_1="12 Hyde Park Road", town="Leeds", postcode=postcode)
    Carer.objects.create(
        child=child,
        source=source,
        source_record_id="R",
        asserted_at=now,
        given_name="Sara",
        family_name=family,
        relationship="mother",
        has_parental_responsibility=True,
        phone="07700 900001",
    )
    return child


def build_world() -> World:
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
    child = _child(source, "Amelia", "Khan", datetime.date(2015, 3, 14), "LS6 2AB")
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
    shielded = _child(source, "Lily", "Morgan", datetime.date(2016, 7, 2), "LS7 3AA")
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
