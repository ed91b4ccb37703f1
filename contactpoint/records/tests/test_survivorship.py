"""Which value the record shows when sources disagree, and that the others are kept."""

import datetime

import pytest
from django.utils import timezone

from contactpoint.records import sealed, services
from contactpoint.records.models import ChildName, NameKind
from contactpoint.records.tests.factories import ChildFactory, ChildNameFactory, SourceFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def name(child, source, family, *, days_ago=0, **extra):
    return ChildNameFactory(
        child=child,
        source=source,
        family_name=family,
        asserted_at=NOW - datetime.timedelta(days=days_ago),
        **extra,
    )


def shown(child) -> str:
    (name,) = sealed.values_opened(ChildName.objects.filter(child=child, is_chosen=True))
    return name["family_name"]


def test_most_authoritative_source_wins_even_when_older():
    child = ChildFactory()
    la, benefit = SourceFactory(authority_rank=10), SourceFactory(authority_rank=40)
    name(child, la, "Khan", days_ago=30)
    name(child, benefit, "Kahn", days_ago=1)
    services.child_values_choose(child=child)
    assert shown(child) == "Khan"
    assert ChildName.objects.filter(child=child).count() == 2  # the loser is kept


def test_between_equally_authoritative_sources_the_latest_wins():
    child = ChildFactory()
    a, b = SourceFactory(authority_rank=20), SourceFactory(authority_rank=20)
    name(child, a, "Older", days_ago=10)
    name(child, b, "Newer", days_ago=2)
    services.child_values_choose(child=child)
    assert shown(child) == "Newer"


def test_former_names_are_kept_but_never_shown_as_the_current_name():
    child = ChildFactory()
    source = SourceFactory(authority_rank=1)
    name(child, source, "Previous", kind=NameKind.FORMER)
    name(child, SourceFactory(authority_rank=90), "Current")
    services.child_values_choose(child=child)
    assert shown(child) == "Current"
    former = sealed.values_opened(child.childname_set.filter(kind=NameKind.FORMER))
    assert [name["family_name"] for name in former] == ["Previous"]


def test_superseding_a_record_keeps_its_values_as_history_and_re_chooses():
    child = ChildFactory()
    gp, school = SourceFactory(authority_rank=20), SourceFactory(authority_rank=30)
    first = name(child, gp, "Smith", source_record_id="GP1")
    name(child, school, "Smyth", source_record_id="SC1")
    services.child_values_choose(child=child)
    assert shown(child) == "Smith"

    services.assertion_supersede(source=gp, source_record_id="GP1", at=NOW)

    first.refresh_from_db()
    assert first.superseded_at == NOW and not first.is_chosen
    assert shown(child) == "Smyth"


def test_choosing_again_changes_nothing():
    child = ChildFactory()
    name(child, SourceFactory(authority_rank=5), "Stable")
    first = services.child_values_choose(child=child)
    second = services.child_values_choose(child=child)
    assert first["ChildName"].pk == second["ChildName"].pk
    assert ChildName.objects.filter(child=child, is_chosen=True).count() == 1
