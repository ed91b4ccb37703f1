"""The twin and sibling guard: pairs that may never be linked without a person deciding.

Plain probabilistic linkage merges twins: they share a surname, a date of birth, an address
and often a GP, so every comparison but the first name agrees and outweighs it. Merging two
children is the worst error this index can make, so whatever the score, a pair that looks like
a multiple birth or siblings, or that carries two different identifiers of the same kind, goes to
review. The same rule applies to full runs, incremental links and cluster growth.
"""

from .model import COMPARISONS

_INDEX = {c.name: i for i, c in enumerate(COMPARISONS)}
_LABELS = {c.name: [level.label for level in c.levels] for c in COMPARISONS}

# First-name levels that say "the same first name": anything weaker, with a shared birth date or
# home, is how twins and siblings look.
SAME_FIRST_NAME = frozenset(
    {"exact", "nickname", "similar", "one typing slip", "given and family transposed"}
)
SAME_HOUSEHOLD = frozenset({"same postcode and address", "same postcode"})
ELSEWHERE = frozenset({"different", "same district"})


def label(levels: tuple[int, ...], name: str) -> str:
    level = levels[_INDEX[name]]
    if level < 0:
        return "unknown"
    labels = _LABELS[name]
    return labels[level] if level < len(labels) else "different"


def refusal(levels: tuple[int, ...]) -> str | None:
    """Why this pair must go to review rather than be linked automatically (None: no objection)."""
    if reason := contradiction(levels):
        return reason
    born = label(levels, "date_of_birth")
    if born != "exact" and label(levels, "location") in ELSEWHERE and not _shared_identifier(levels):
        # Two children with a common name, one birth date unknown or mistyped, in different places:
        # as likely namesakes as one child who moved.
        return "different homes, birth dates not the same, no shared identifier"
    return None


def contradiction(levels: tuple[int, ...]) -> str | None:
    """What says two records are different children: no cluster may hold both."""
    for name, what in (("nhs_number", "NHS numbers"), ("upn", "UPNs")):
        if label(levels, name) == "different":
            return f"different {what}"
    born = label(levels, "date_of_birth")
    if born == "different":
        return "different dates of birth"  # siblings share names and homes; a typo gets a person
    given = label(levels, "given_name")
    if given in SAME_FIRST_NAME:
        return None
    if label(levels, "date_of_birth") == "exact":
        return "possible twin: same date of birth, different first names"
    if label(levels, "location") in SAME_HOUSEHOLD:
        return "possible sibling: same home, different first names"
    return None


def _shared_identifier(levels: tuple[int, ...]) -> bool:
    return label(levels, "nhs_number") == "exact" or label(levels, "upn") == "exact"


def levels_from_gammas(gammas: list[int]) -> tuple[int, ...]:
    """Splink numbers levels best-first from the top (else = 0, unknown = -1); ours count down."""
    out = []
    for comparison, gamma in zip(COMPARISONS, gammas, strict=True):
        n = len(comparison.levels)
        out.append(-1 if gamma < 0 else n - gamma)
    return tuple(out)
