"""Small composable access rules: `HasPermission(p) & InArea()` reads as the rule it enforces."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .actors import Actor


class Rule:
    def allows(self, actor: Actor, target: Any = None) -> bool:
        raise NotImplementedError

    def __and__(self, other: "Rule") -> "Rule":
        return _Both(self, other)

    def __or__(self, other: "Rule") -> "Rule":
        return _Either(self, other)


@dataclass(frozen=True)
class _Both(Rule):
    left: Rule
    right: Rule

    def allows(self, actor: Actor, target: Any = None) -> bool:
        return self.left.allows(actor, target) and self.right.allows(actor, target)


@dataclass(frozen=True)
class _Either(Rule):
    left: Rule
    right: Rule

    def allows(self, actor: Actor, target: Any = None) -> bool:
        return self.left.allows(actor, target) or self.right.allows(actor, target)


@dataclass(frozen=True)
class HasPermission(Rule):
    permission: str

    def allows(self, actor: Actor, target: Any = None) -> bool:
        return actor.can(self.permission)


@dataclass(frozen=True)
class Where(Rule):
    """A rule over the target: Where(in_own_area) holds when the target is in the actor's area."""

    test: Callable[[Actor, Any], bool]

    def allows(self, actor: Actor, target: Any = None) -> bool:
        return self.test(actor, target)


def in_own_area(actor: Actor, target: Any) -> bool:
    return getattr(target, "local_authority_id", None) == actor.local_authority.pk


def responsible_for_child(actor: Actor, child: Any) -> bool:
    """The actor's authority answers for the child: it is the area of the child's chosen address
    (notifications.events.areas_of, as for events and emergency lookups), the authority shielding
    the child, or, for a child whose address gives no area (no fixed address, an unmapped
    postcode), an authority the child is known to (linkage.selectors.children_in_area).

    Acts on a child's record as a whole (subject access, rectification, consent, a death) belong
    to that authority's team only: another team knowing the child is not enough while its address
    says whose child it is.
    """
    from contactpoint.linkage.selectors import children_in_area
    from contactpoint.notifications.events import areas_of

    from .models import Shield

    own = actor.local_authority
    if Shield.objects.filter(child_id=child.pk, local_authority=own, ended_at__isnull=True).exists():
        return True
    area = areas_of([child.pk]).get(child.pk)
    if area is not None:
        return area == own.pk
    return child.pk in children_in_area(own, among=[child.pk])
