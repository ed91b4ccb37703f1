"""The twin and sibling guard: pairs that may never be linked without a person deciding.

Plain probabilistic linkage merges twins: they share a surname, a date of birth, an address
and often a GP, so every comparison but the first name agrees and outweighs it. Merging two
children is the worst error this index can make, so whatever the score, a pair that looks like
a multiple birth or siblings, or that carries two different identifiers of the same kind, goes to
review. The same rule applies to full runs, incremental links and cluster growth.

Unrelated namesakes are the other way two children look alike: a common given and family name
and a birth date, nothing else shared. A large index holds many such pairs by chance, and two
records of one child that share only those details are no better evidence than they are, so
they go to review too (`COMMON_NAME_SHARE`).
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
NOTHING_IN_COMMON = frozenset({"different", "unknown"})
# The share of records bearing a given and family name (from the model's name frequencies, as if
# chosen independently) from which a name and birth date alone link nothing: see docs/linkage.md.
COMMON_NAME_SHARE = 2e-4
ELSEWHERE = frozenset({"different", "same district"})


def label(levels: tuple[int, ...], name: str) -> str:
    level = levels[_INDEX[name]]
    if level < 0:
        return "unknown"
    labels = _LABELS[name]
    return labels[level] if level < len(labels) else "different"


def refusal(levels: tuple[int, ...], name_share: float = 0.0) -> str | None:
    """Why this pair must go to review rather than be linked automatically (None: no objection).

    `name_share`: how common the pair's names are (`MatchModel.name_share`, the commoner side);
    0 when unknown.
    """
    if reason := contradiction(levels):
        return reason
    if name_share >= COMMON_NAME_SHARE and only_name_and_birth(levels):
        return "possible namesakes: common name and birth date, no shared identifier or home"
    born = label(levels, "date_of_birth")
    if born != "exact" and label(levels, "location") in ELSEWHERE and not _shared_identifier(levels):
        # Two children with a common name, one birth date unknown or mistyped, in different places:
        # as likely namesakes as one child who moved.
        return "different homes, birth dates not the same, no shared identifier"
    return None


def only_name_and_birth(levels: tuple[int, ...]) -> bool:
    """Names alike (exact, a nickname, a slip), the same birth date, and no identifier, home or
    postcode district in common to say it is one child: what two namesakes look like. (A shared
    district is corroboration: no unrelated pair with the same name and birth date in the labelled
    data had one.)"""
    return (
        label(levels, "given_name") not in NOTHING_IN_COMMON
        and label(levels, "family_name") not in NOTHING_IN_COMMON
        and label(levels, "date_of_birth") == "exact"
        and label(levels, "location") in NOTHING_IN_COMMON
        and not _shared_identifier(levels)
    )


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
