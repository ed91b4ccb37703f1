"""The demo's model-layer loader: every person with a usable row becomes one child."""

import csv
import datetime

import pytest

from contactpoint.feeds.models import SourceRecord
from contactpoint.records import sealed
from contactpoint.records.models import (
    Child,
    ChildAddress,
    ChildBirthDate,
    ChildIdentifier,
    ChildName,
    IdentifierScheme,
    Involvement,
)
from contactpoint.synthetic.feeds import write_population
from contactpoint.synthetic.load import load_population

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(tmp_path):
    write_population(children=600, seed=3, out=tmp_path, as_of=datetime.date(2026, 10, 1))
    return tmp_path, load_population(tmp_path)


def test_linkage_never_merges_two_people_and_rarely_splits_one(loaded):
    directory, counts = loaded
    with (directory / "truth.csv").open() as handle:
        person = {(r["source"], r["source_record_id"]): r["person_id"] for r in csv.DictReader(handle)}
    people = set(person.values())
    people_in_child: dict[int, set[str]] = {}
    records = SourceRecord.objects.values_list("source__code", "source_record_id", "child_id")
    for source, srid, child in records:
        people_in_child.setdefault(child, set()).add(person[(source, srid)])
    assert all(len(found) == 1 for found in people_in_child.values())  # no wrong merge
    assert Child.objects.count() == counts["Child"]
    assert len(people) <= counts["Child"] <= 1.05 * len(people)  # split people wait in the review queue
    named = ChildName.objects.filter(is_chosen=True).values("child").distinct().count()
    assert named >= len(people) - 2  # only a person whose every row lacks a name goes unnamed
    assert ChildBirthDate.objects.filter(is_chosen=True).count() > 0.95 * len(people)
    assert ChildAddress.objects.filter(is_chosen=True).count() > 0.95 * len(people)


def test_invalid_identifiers_are_left_out_not_stored(loaded):
    from stdnum.gb import nhs

    for row in sealed.values_opened(ChildIdentifier.objects.filter(scheme=IdentifierScheme.NHS_NUMBER)):
        assert nhs.is_valid(row["value"])


def test_involvements_name_their_practitioner(loaded):
    involvements = Involvement.objects.all()
    assert involvements.exists()
    assert not involvements.filter(practitioner__isnull=True).exists()


def test_sensitive_involvements_carry_their_basis(loaded):
    for involvement in Involvement.objects.filter(is_sensitive=True):
        assert involvement.sensitive_basis in ("consent", "significant_harm")


def test_refuses_to_load_into_a_populated_index(loaded):
    directory, _ = loaded
    with pytest.raises(ValueError, match="already holds children"):
        load_population(directory)


def test_a_later_delivery_closes_cases_and_the_targeted_review_archives_those_left_unknown(
    tmp_path, settings
):
    from contactpoint.retention.models import ChildRetention
    from contactpoint.signposting.scope import grace_cutoff
    from contactpoint.signposting.services import scope_review

    settings.CONTACTPOINT_SCOPE = "targeted"
    manifest = write_population(children=1500, seed=3, out=tmp_path, as_of=datetime.date(2026, 10, 1))
    closed = manifest["follow_up"][0]["rows"]
    assert closed > 0
    counts = load_population(tmp_path)
    assert counts["follow_up_records"] == closed
    # every child was known to services when created; the closures leave some known to none
    review = scope_review()
    assert 0 < review["archived"] <= closed and review["archived"] < counts["Child"]
    cutoff = grace_cutoff()
    for state in ChildRetention.objects.filter(archive_basis="left_scope"):
        recent = Involvement.objects.filter(child_id=state.child_id, superseded_at__isnull=True).exclude(
            end_date__lt=cutoff
        )
        assert not recent.exists()
    assert scope_review() == {"archived": 0, "restored": 0}
