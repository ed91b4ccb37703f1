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
