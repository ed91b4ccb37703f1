"""A small linked index to apply retention to: children loaded through the real feed loader."""

import datetime
from pathlib import Path

from contactpoint.access.actors import Actor
from contactpoint.access.tests.factories import actor_for
from contactpoint.linkage.services import link_run
from contactpoint.linkage.tests.helpers import child_of, load, person
from contactpoint.notifications.models import PostcodeDistrict
from contactpoint.records.models import Child, Organisation, OrganisationKind

BORN = datetime.date(2010, 5, 1)
EIGHTEENTH = datetime.date(2028, 5, 1)


def index(directory: Path) -> None:
    """Ivy (born 2010-05-01, no consent), Otto (same birthday, a care leaver who consented) and
    Rosa (born 2020), each known to two sources so every linkage table holds something."""
    load(
        directory,
        "la_childrens_services",
        [
            person("G1", given_name="Ivy", family_name="Quennell", date_of_birth=BORN.isoformat()),
            person(
                "G2",
                given_name="Otto",
                family_name="Brackwater",
                date_of_birth=BORN.isoformat(),
                postcode="M1 4BT",
                address_line_1="9 Canal St",
                town="Manchester",
                retention_consent="care_leaver",
            ),
            person("G3", given_name="Rosa", family_name="Tindall", date_of_birth="2020-02-03"),
        ],
    )
    load(
        directory,
        "child_benefit",
        [person("C1", given_name="Ivy", family_name="Quennell", date_of_birth=BORN.isoformat())],
    )
    link_run()


def child(srid: str) -> Child:
    found = child_of("la_childrens_services", srid)
    assert found is not None
    return found


def leeds_team() -> Actor:
    """The ContactPoint team of Leeds, where Ivy and Rosa live (LS6): the authority responsible for them."""
    leeds, _ = Organisation.objects.get_or_create(
        kind=OrganisationKind.LOCAL_AUTHORITY, code="383", defaults={"name": "Leeds"}
    )
    PostcodeDistrict.objects.get_or_create(district="LS6", defaults={"local_authority": leeds})
    return actor_for("la_management", leeds)


def given_names() -> list[str]:
    """Every child's given names in the record tables (sealed: opened as any reader opens them)."""
    from contactpoint.records import sealed
    from contactpoint.records.models import ChildName

    return [row["given_name"] for row in sealed.values_opened(ChildName.objects.all())]
