"""Two authorities, a child living in the first, and the people who might be told about it."""

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model

from contactpoint.access.actors import Actor
from contactpoint.access.tests.factories import actor_for
from contactpoint.notifications.models import PostcodeDistrict
from contactpoint.records.models import Child, OrganisationKind, ServiceType
from contactpoint.records.selectors import involvement_version, own_involvement_row
from contactpoint.records.services import InvolvementAnswers, own_involvement_record
from contactpoint.records.tests.factories import (
    ChildAddressFactory,
    ChildFactory,
    ChildNameFactory,
    OrganisationFactory,
)


@dataclass
class World:
    leeds: object
    manchester: object
    child: Child
    leeds_team: Actor
    manchester_team: Actor
    lead: Actor  # a social worker in Leeds, the child's lead professional
    school_nurse: Actor  # works with the child too, has not opted in
    bystander: Actor  # a practitioner in Leeds with no involvement
    partner: Actor  # a national partner


def child_in(district_postcode: str) -> Child:
    child = ChildFactory()
    ChildNameFactory(child=child, given_name="Amelia", family_name="Khan", is_chosen=True)
    ChildAddressFactory(child=child, postcode=district_postcode, is_chosen=True)
    return child


def build_world() -> World:
    leeds = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="383", name="Leeds City Council")
    manchester = OrganisationFactory(
        kind=OrganisationKind.LOCAL_AUTHORITY, code="352", name="Manchester City Council"
    )
    PostcodeDistrict.objects.create(district="LS6", local_authority=leeds)
    PostcodeDistrict.objects.create(district="M1", local_authority=manchester)
    health = OrganisationFactory(
        kind=OrganisationKind.SERVICE_PROVIDER,
        code="RR8",
        name="Leeds Community Health",
        local_authority=leeds,
    )
    national = OrganisationFactory(kind=OrganisationKind.NATIONAL_PARTNER, code="NP1", name="A national body")
    child = child_in("LS6 2AB")
    world = World(
        leeds=leeds,
        manchester=manchester,
        child=child,
        leeds_team=actor_for("la_management", leeds, username="team-leeds"),
        manchester_team=actor_for("la_management", manchester, username="team-manchester"),
        lead=actor_for("practitioner", leeds, username="social-worker"),
        school_nurse=actor_for("practitioner", health, username="school-nurse"),
        bystander=actor_for("practitioner", leeds, username="bystander"),
        partner=actor_for("national_partner", national, username="partner", local_authority=leeds),
    )
    for actor in (world.leeds_team, world.manchester_team, world.lead, world.school_nurse):
        get_user_model().objects.filter(pk=actor.user_id).update(email=f"{actor.username}@example.gov.uk")
    involve(world.lead, child, ServiceType.SOCIAL_CARE, lead=True)
    involve(world.school_nurse, child, ServiceType.SCHOOL_NURSING)
    return world


def involve(actor: Actor, child: Child, service: str, *, lead: bool = False) -> None:
    own_involvement_record(
        actor=actor,
        child=child,
        changes=InvolvementAnswers(
            service_type=service, start_date=datetime.date(2026, 1, 5), is_lead_professional=lead
        ).as_changes(),
        expected_version=involvement_version(own_involvement_row(actor=actor, child=child)),
    )


def end_involvement(actor: Actor, child: Child, end_date: datetime.date) -> None:
    own_involvement_record(
        actor=actor,
        child=child,
        changes={"end_date": end_date},
        expected_version=involvement_version(own_involvement_row(actor=actor, child=child)),
    )
