"""Grouping automatically linked records into children, without ever joining two that conflict.

Links are transitive: A-B and B-C put A and C in one child even if A and C are twins. So
clusters grow edge by edge, strongest first, and two clusters join only if no record in one
conflicts with a record in the other under the guard. A record that would belong equally to two
clusters that may not join (a record without a date of birth, say, matching two brothers of the
same name) is not given to either: it is left for a person.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable

Edge = tuple[int, int, float]  # record id, record id, evidence
Conflict = Callable[[int, int], bool]


class _Clusters:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}
        self.members: dict[int, list[int]] = {}

    def find(self, item: int) -> int:
        if item not in self.parent:
            self.parent[item] = item
            self.members[item] = [item]
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def join(self, a: int, b: int) -> None:
        if len(self.members[a]) < len(self.members[b]):
            a, b = b, a
        self.parent[b] = a
        self.members[a].extend(self.members.pop(b))


def cluster(edges: Iterable[Edge], conflict: Conflict) -> tuple[list[list[int]], list[Edge]]:
    """Returns the clusters (records linked to each other) and the edges refused on the way."""
    clusters = _Clusters()
    refused: list[Edge] = []
    ordered = sorted(edges, key=lambda e: -e[2])
    for a, b, evidence in ordered:
        ra, rb = clusters.find(a), clusters.find(b)
        if ra == rb:
            continue
        if any(conflict(x, y) for x in clusters.members[ra] for y in clusters.members[rb]):
            refused.append((a, b, evidence))
            continue
        clusters.join(ra, rb)
    groups = [sorted(m) for m in clusters.members.values()]
    return _detach_ambiguous(groups, ordered, refused), refused


def _detach_ambiguous(groups: list[list[int]], edges: list[Edge], refused: list[Edge]) -> list[list[int]]:
    """Records with automatic links into two clusters that may not join stand alone for review."""
    home = {record: number for number, group in enumerate(groups) for record in group}
    reaches: dict[int, set[int]] = defaultdict(set)
    for a, b, _ in edges:
        reaches[a].add(home[b])
        reaches[b].add(home[a])
    ambiguous = {
        record
        for a, b, _ in refused
        for record in (a, b)
        if len(reaches[record] | {home[record]}) > 1 and len(reaches[record]) > 1
    }
    if not ambiguous:
        return groups
    kept = [[r for r in group if r not in ambiguous] for group in groups]
    return [g for g in kept if g] + [[r] for r in sorted(ambiguous)]
