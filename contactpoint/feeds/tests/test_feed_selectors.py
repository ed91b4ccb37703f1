"""Who sees which loads and quarantined rows, and that showing rows is audited and minimal."""

from dataclasses import dataclass
from typing import Any

import pytest

from contactpoint.access.actors import Actor
from contactpoint.access.services import user_create
from contactpoint.access.tests.factories import TEST_PASSWORD, make_user
from contactpoint.audit.models import AuditEvent
from contactpoint.feeds import selectors
from contactpoint.feeds.models import FeedFile, QuarantinedRow
from contactpoint.feeds.services import sources_sync
from contactpoint.linkage.tests.helpers import load, person
from contactpoint.records.models import Organisation, OrganisationKind
from contactpoint.records.tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


@dataclass
class Feeds:
    leeds: Actor
    manchester: Actor
    data_manager: Actor
    practitioner: Actor
    gp_file: FeedFile
    benefit_file: FeedFile


def build_feeds(directory) -> Feeds:
    """A GP file quarantining one row at a Leeds practice and one at a Manchester practice, and a
    child benefit file (naming no practice) quarantining one more."""
    leeds = Actor.for_user(make_user("team-383", "la_management", organisation="383").user)
    manchester = Actor.for_user(make_user("team-352", "la_management", organisation="352").user)
    la = {la.code: la for la in Organisation.objects.filter(kind=OrganisationKind.LOCAL_AUTHORITY)}
    OrganisationFactory(kind=OrganisationKind.GP_PRACTICE, code="B86001", local_authority=la["383"])
    OrganisationFactory(kind=OrganisationKind.GP_PRACTICE, code="P84001", local_authority=la["352"])
    sources_sync()
    user, _ = user_create(
        username="dm-nhs",
        role_code="data_manager",
        organisation_code="X26",
        local_authority_code="383",
        vetted=True,
        password=TEST_PASSWORD,
    )
    load(
        directory,
        "gp_registration",
        [
            person("G1", gp_practice_code="B86001", gp_registration_date="2016-01-01"),
            person("G2", given_name="", family_name="", gp_practice_code="B86001"),  # no name
            person("G3", date_of_birth="1990-01-01", gp_practice_code="P84001", family_name="Okoro"),
        ],
    )
    load(directory, "child_benefit", [person("B1", given_name="", family_name="")])
    return Feeds(
        leeds=leeds,
        manchester=manchester,
        data_manager=Actor.for_user(user),
        practitioner=Actor.for_user(make_user("p-383").user),
        gp_file=FeedFile.objects.get(source__code="gp_registration"),
        benefit_file=FeedFile.objects.get(source__code="child_benefit"),
    )


@pytest.fixture
def feeds(tmp_path) -> Feeds:
    return build_feeds(tmp_path)


def _ids(rows: Any) -> set[str]:
    return {row.source_record_id for row in rows}


def test_each_team_sees_the_loads_and_rows_naming_its_area_and_data_managers_see_all(feeds):
    assert set(selectors.feed_files_for(actor=feeds.leeds)) == {feeds.gp_file}
    assert _ids(selectors.quarantine_for(actor=feeds.leeds)) == {"G2"}
    assert _ids(selectors.quarantine_for(actor=feeds.manchester)) == {"G3"}
    assert set(selectors.feed_files_for(actor=feeds.data_manager)) == {feeds.gp_file, feeds.benefit_file}
    assert _ids(selectors.quarantine_for(actor=feeds.data_manager)) == {"G2", "G3", "B1"}
    assert not selectors.feed_files_for(actor=feeds.practitioner).exists()
    assert not selectors.quarantine_for(actor=feeds.practitioner).exists()
    assert selectors.quarantine_counts(actor=feeds.leeds) == {"open": 1, "resolved": 0}


def test_showing_rows_is_audited_and_shows_no_address_or_identifier(feeds):
    rows = list(selectors.quarantine_for(actor=feeds.manchester))
    (shown,) = selectors.quarantine_rows_show(actor=feeds.manchester, rows=rows, client="10.0.0.1")
    assert shown.shown == {"given_name": "Amelia", "family_name": "Okoro", "date_of_birth": "1990-01-01"}
    assert shown.reasons == ["aged_25_or_over"]
    event = AuditEvent.objects.get(details__action="quarantine_viewed")
    assert event.actor_username == "team-352" and event.details["rows"] == [rows[0].pk]


def test_rows_outside_the_area_are_refused_and_nothing_is_audited(feeds):
    elsewhere = list(QuarantinedRow.objects.filter(source_record_id="G3"))
    with pytest.raises(PermissionError):
        selectors.quarantine_rows_show(actor=feeds.leeds, rows=elsewhere)
    assert not AuditEvent.objects.filter(details__action="quarantine_viewed").exists()


def test_only_data_managers_of_the_body_running_a_source_may_send_its_files(feeds):
    gp, benefit = feeds.gp_file.source, feeds.benefit_file.source
    assert selectors.MAY_SUBMIT_FEED.allows(feeds.data_manager, gp)  # NHS England runs GP registrations
    assert not selectors.MAY_SUBMIT_FEED.allows(feeds.data_manager, benefit)  # HMRC's
    assert not selectors.MAY_SUBMIT_FEED.allows(feeds.leeds, gp)
