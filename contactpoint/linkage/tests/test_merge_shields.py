"""A shield follows its child into a merge: merging a shielded child into an unshielded one must
not put the shielded child's hidden fields on show under the survivor's ID."""

import pytest

from contactpoint.access.door import restricted_for
from contactpoint.access.models import Shield
from contactpoint.access.services import shield_add
from contactpoint.audit.models import AuditEvent, EventType
from contactpoint.linkage.services import MERGED_SHIELD_PREFIX, children_merge, link_run, merge_undo
from contactpoint.notifications.tests.world import World, build_world

from .helpers import child_of, load, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(tmp_path) -> tuple[World, object, object]:
    """A child the Leeds team shielded, and a second child a person finds to be the same one."""
    world = build_world()
    load(tmp_path, "gp_registration", [person("G1", nhs_number="9434765919")])
    load(tmp_path, "child_benefit", [person("C1", given_name="Zed", date_of_birth="2011-01-01")])
    link_run()
    shielded, other = child_of("gp_registration", "G1"), child_of("child_benefit", "C1")
    assert shielded != other
    shield_add(child=shielded, actor=world.leeds_team, reason="refuge")
    return world, shielded, other


def live_shield(child) -> Shield | None:
    return Shield.objects.filter(child=child, ended_at__isnull=True).first()


def test_merging_a_shielded_child_into_an_unshielded_one_shields_the_survivor(two):
    world, shielded, survivor = two
    assert not restricted_for(world.bystander, survivor)
    merge = children_merge(survivor=survivor, merged=shielded, reason="same child")
    shield = live_shield(survivor)
    assert shield is not None and shield.reason.startswith(MERGED_SHIELD_PREFIX)
    assert shield.local_authority_id == live_shield(shielded).local_authority_id  # the same team decides
    assert restricted_for(world.bystander, survivor) and not restricted_for(world.leeds_team, survivor)
    added = AuditEvent.objects.filter(event_type=EventType.SHIELD, details__merge=merge.pk)
    assert added.get().details["action"] == "added"


def test_undoing_the_merge_ends_the_survivors_shield_and_keeps_the_shielded_childs(two):
    world, shielded, survivor = two
    merge = children_merge(survivor=survivor, merged=shielded, reason="same child")
    merge_undo(merge=merge, reason="two children after all")
    assert live_shield(survivor) is None and not restricted_for(world.bystander, survivor)
    assert live_shield(shielded) is not None and restricted_for(world.bystander, shielded)
    kinds = AuditEvent.objects.filter(event_type=EventType.SHIELD, details__merge=merge.pk)
    assert sorted(e.details["action"] for e in kinds) == ["added", "ended"]


def test_a_survivor_shielded_already_keeps_its_own_shield(two):
    world, shielded, survivor = two
    own = shield_add(child=survivor, actor=world.manchester_team, reason="witness protection")
    merge = children_merge(survivor=survivor, merged=shielded, reason="same child")
    assert live_shield(survivor) == own
    merge_undo(merge=merge, reason="two children after all")
    assert live_shield(survivor) == own  # a shield the page added is not linkage's to end


def test_merging_an_unshielded_child_into_a_shielded_one_adds_no_shield(two):
    _world, shielded, other = two
    children_merge(survivor=shielded, merged=other, reason="same child")
    live = Shield.objects.filter(ended_at__isnull=True).values_list("child_id", flat=True)
    assert list(live) == [shielded.pk]
