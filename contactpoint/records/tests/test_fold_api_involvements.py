"""The data migration that folds API-recorded involvements (`involvement-<uuid>`) into one live
involvement per user and child (ADR 0014), run on rows recorded as the API used to record them."""

import datetime
import importlib
import uuid

import pytest
from django.apps import apps
from django.utils import timezone

from contactpoint.access.actors import Actor
from contactpoint.access.tests.factories import actor_for
from contactpoint.audit.models import EventType
from contactpoint.audit.services import audit_record
from contactpoint.records.models import Involvement, OrganisationKind, ServiceType
from contactpoint.records.selectors import involvement_live_successor, own_involvement_row
from contactpoint.records.services import organisation_source

from .factories import ChildFactory, InvolvementFactory, OrganisationFactory, SourceFactory

pytestmark = pytest.mark.django_db
fold = importlib.import_module("contactpoint.records.migrations.0005_fold_api_involvements")


def recorded(actor: Actor, child, *, days_ago: int, how: str = "api", **fields) -> Involvement:
    """A row as the API recorded it (its own id, its event naming it), or as the pages did."""
    record_id = (
        f"involvement-{uuid.uuid4().hex}" if how == "api" else f"user-{actor.user_id}-{child.contactpoint_id}"
    )
    row = Involvement.objects.create(
        child=child,
        source=organisation_source(organisation=actor.organisation),
        source_record_id=record_id,
        asserted_at=timezone.now() - datetime.timedelta(days=days_ago),
        organisation=actor.organisation,
        service_type=fields.pop("service_type", ServiceType.EARLY_HELP),
        **fields,
    )
    if how == "api":
        audit_record(
            event_type=EventType.CHANGE,
            actor=actor,
            child_ids=[child.contactpoint_id],
            details={
                "action": "involvement_started",
                "involvement": row.pk,
                "service_type": row.service_type,
            },
        )
    return row


def changed_in_place(actor: Actor, row: Involvement) -> None:
    audit_record(
        event_type=EventType.CHANGE,
        actor=actor,
        child_ids=[row.child.contactpoint_id],
        details={"action": "involvement_changed", "involvement": row.pk, "changed": ["has_caf"]},
    )


def run_fold() -> None:
    fold.fold_api_involvements(apps, None)


@pytest.fixture
def people():
    team = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="941")
    return (
        actor_for("practitioner", team, username="ana"),
        actor_for("practitioner", team, username="ben"),
    )


def test_the_newest_live_row_per_user_and_child_stays_live_and_keeps_the_others_as_history(people):
    ana, ben = people
    child = ChildFactory()
    oldest = recorded(ana, child, days_ago=3)
    newest = recorded(ana, child, days_ago=2, has_caf=True)
    bens = recorded(ben, child, days_ago=1)

    run_fold()

    for row in (oldest, newest, bens):
        row.refresh_from_db()
    assert {oldest.source_record_id, newest.source_record_id} == {
        f"user-{ana.user_id}-{child.contactpoint_id}"
    }
    assert bens.source_record_id == f"user-{ben.user_id}-{child.contactpoint_id}"
    assert (oldest.superseded_at is not None, newest.superseded_at, bens.superseded_at) == (True, None, None)
    assert own_involvement_row(actor=ana, child=child) == newest  # the one service now finds it
    assert involvement_live_successor(child=child, involvement_id=oldest.pk) == newest  # stored ids lead on


def test_a_page_row_and_a_row_changed_later_through_the_api_are_folded_by_when_they_last_changed(people):
    ana, _ = people
    child = ChildFactory()
    api_row = recorded(ana, child, days_ago=5)
    page_row = recorded(ana, child, days_ago=1, how="pages")
    changed_in_place(ana, api_row)  # the old API changed rows in place: the event says when

    run_fold()

    api_row.refresh_from_db()
    page_row.refresh_from_db()
    assert api_row.superseded_at is None and page_row.superseded_at is not None
    assert api_row.source_record_id == page_row.source_record_id
    assert Involvement.objects.filter(child=child, superseded_at__isnull=True).count() == 1


def test_rows_without_their_event_feeds_and_other_children_are_left_alone(people, capsys):
    ana, _ = people
    child, other_child = ChildFactory(), ChildFactory()
    mine = recorded(ana, child, days_ago=2)
    elsewhere = recorded(ana, other_child, days_ago=1)
    orphan = Involvement.objects.create(
        child=child,
        source=organisation_source(organisation=ana.organisation),
        source_record_id=f"involvement-{uuid.uuid4().hex}",
        asserted_at=timezone.now(),
        organisation=ana.organisation,
        service_type=ServiceType.YOUTH_SUPPORT,
    )
    fed = InvolvementFactory(child=child, source=SourceFactory(), source_record_id="involvement-77")

    run_fold()
    run_fold()  # running it again changes nothing

    for row in (mine, elsewhere, orphan, fed):
        row.refresh_from_db()
    assert mine.source_record_id.startswith("user-") and mine.superseded_at is None
    assert (
        elsewhere.source_record_id.endswith(other_child.contactpoint_id) and elsewhere.superseded_at is None
    )
    assert orphan.source_record_id.startswith("involvement-") and orphan.superseded_at is None
    assert fed.source_record_id == "involvement-77" and fed.superseded_at is None
    assert str(orphan.pk) in capsys.readouterr().out
