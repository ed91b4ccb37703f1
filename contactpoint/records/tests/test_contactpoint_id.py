import pytest

from contactpoint.records import services
from contactpoint.records.models import Child, IssuedContactPointId
from contactpoint.records.tests.factories import ChildFactory

pytestmark = pytest.mark.django_db


def test_ids_are_opaque_random_and_checkable():
    ids = {services.contactpoint_id_generate() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(services.contactpoint_id_is_valid(value) for value in ids)
    # 60 random bits: no two in a few thousand share even their first eight characters' worth of order.
    assert len({value[:10] for value in ids}) == 2000


def test_a_single_mistyped_character_is_detected():
    value = services.contactpoint_id_generate()
    body = value.removeprefix("CP")
    for position in range(len(body) - 1):
        replacement = "7" if body[position] != "7" else "8"
        typo = "CP" + body[:position] + replacement + body[position + 1 :]
        assert not services.contactpoint_id_is_valid(typo)


def test_an_id_is_never_reissued_after_its_child_is_gone(monkeypatch):
    child = ChildFactory()
    retired = child.contactpoint_id
    child.delete()
    assert not Child.objects.filter(contactpoint_id=retired).exists()
    fresh = "CP" + "A" * 12
    candidates = iter([retired, retired, fresh])
    monkeypatch.setattr(services, "contactpoint_id_generate", lambda: next(candidates))
    assert services.contactpoint_id_issue() == fresh
    assert IssuedContactPointId.objects.filter(value=retired).count() == 1


def test_issuing_gives_up_loudly_when_every_candidate_is_taken(monkeypatch):
    taken = services.contactpoint_id_issue()
    monkeypatch.setattr(services, "contactpoint_id_generate", lambda: taken)
    with pytest.raises(RuntimeError, match="Could not issue"):
        services.contactpoint_id_issue()


def test_bulk_issue_never_hands_out_an_id_issued_before(monkeypatch):
    retired = services.contactpoint_id_issue()
    candidates = iter([retired, "CP" + "B" * 12, "CP" + "C" * 12])
    monkeypatch.setattr(services, "contactpoint_id_generate", lambda: next(candidates))
    assert services.contactpoint_ids_issue(count=2) == ["CP" + "B" * 12, "CP" + "C" * 12]
    assert IssuedContactPointId.objects.count() == 3


def test_children_are_created_in_bulk_with_ids_never_issued_before(monkeypatch):
    retired = services.contactpoint_id_issue()
    drawn = iter([retired, "CP" + "D" * 12, retired, "CP" + "D" * 12, "CP" + "E" * 12])
    monkeypatch.setattr(services, "contactpoint_id_generate", lambda: next(drawn))
    created = services.children_issue(count=2, chunk=2)
    children = Child.objects.filter(pk__in=created)
    assert sorted(children.values_list("contactpoint_id", flat=True)) == ["CP" + "D" * 12, "CP" + "E" * 12]
    assert created == sorted(created)
    assert IssuedContactPointId.objects.count() == 3  # the retired ID once; each child's registered


def test_bulk_children_get_distinct_valid_ids():
    created = services.children_issue(count=300, chunk=128)
    values = list(Child.objects.filter(pk__in=created).values_list("contactpoint_id", flat=True))
    assert len(created) == len(set(values)) == 300
    assert all(services.contactpoint_id_is_valid(value) for value in values)
    assert set(values) <= set(IssuedContactPointId.objects.values_list("value", flat=True))
