"""In-process scoring with a trained model artifact.

The artifact is Splink's own saved model (m and u per level) plus the term-frequency tables and
the decision thresholds, under a version name that every link decision records. Scores here are
*evidence*: the sum of the levels' log2 Bayes factors, without the prior. The prior is the chance
that two random records match, which falls as the index grows; thresholds on evidence therefore
mean the same at 10,000 children as at 11 million, and blocking keeps the non-matches compared
per record about constant.
"""

import copy
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from .features import Features
from .model import COMPARISONS, Comparison

if TYPE_CHECKING:
    import pandas as pd

ARTIFACTS = Path(__file__).with_name("artifacts")
IDENTIFIER_COMPARISONS = tuple(i for i, c in enumerate(COMPARISONS) if c.name in ("nhs_number", "upn"))


@dataclass(frozen=True)
class Scored:
    evidence: float
    levels: tuple[int, ...]  # per comparison: -1 unknown, else index into its levels, len = else
    weights: tuple[float, ...]  # per comparison, log2 Bayes factor (the waterfall)

    def level_label(self, index: int) -> str:
        level = self.levels[index]
        comparison = COMPARISONS[index]
        if level < 0:
            return "unknown"
        return comparison.levels[level].label if level < len(comparison.levels) else "different"


@dataclass(frozen=True)
class Thresholds:
    auto: float  # at or above: linked without review (if the guard allows)
    review: float  # at or above (and below auto): a person decides


class MatchModel:
    def __init__(self, document: dict) -> None:
        self.document = document
        self.version: str = document["version"]
        self.trained_thresholds = Thresholds(**document["thresholds"])
        self.training_records: int = document.get("training_records", 0)
        self.thresholds = self.trained_thresholds
        self.prior: float = document["splink"]["probability_two_random_records_match"]
        self.tf: dict[str, dict[str, float]] = document.get("term_frequencies", {})
        self.weights, self.tf_levels = _level_weights(document["splink"]["comparisons"])
        self.u = _u_table(document["splink"]["comparisons"])

    @classmethod
    def load(cls, path: Path) -> "MatchModel":
        return cls(json.loads(path.read_text()))

    def score(self, left: Features, right: Features) -> Scored:
        levels, weights = [], []
        for index, comparison in enumerate(COMPARISONS):
            level, weight = self.level_weight(index, comparison, left, right)
            levels.append(level)
            weights.append(weight)
        return Scored(sum(weights), tuple(levels), tuple(weights))

    def level_weight(
        self, index: int, comparison: Comparison, left: Features, right: Features
    ) -> tuple[int, float]:
        """One comparison's level and its weight: what `score` sums, and what `PairScorer` keeps."""
        level = comparison.level_of(left, right)
        weight = 0.0 if level < 0 else self.weights[index][level]
        if level >= 0 and (column := self.tf_levels[index].get(level)):
            weight += self._tf_adjustment(index, level, column, left)
        return level, weight

    def _tf_adjustment(self, index: int, level: int, column: str, left: Features) -> float:
        """As Splink: a common name agreeing is weaker evidence than a rare one."""
        frequency = self.tf.get(column, {}).get(left[column])  # type: ignore[literal-required]
        if frequency is None:
            return 0.0
        return math.log2(self.u[index][level] / frequency)

    def name_share(self, *sides: Features) -> float:
        """The share of records bearing the commoner of these records' given and family names (as
        if chosen independently; names rarer than the tables hold count as 0)."""
        given, family = self.tf.get("given", {}), self.tf.get("family", {})
        return max(given.get(f["given"] or "", 0.0) * family.get(f["family"] or "", 0.0) for f in sides)

    def name_shares(self, records: "pd.DataFrame") -> "pd.Series":
        """`name_share` of every record of a features frame, by id, computed column-wise."""
        return name_shares(records, self.tf)

    def at_volume(self, records: int) -> "MatchModel":
        """This model with thresholds for an index of `records` source records.

        Blocking keeps most comparisons per record constant, but namesakes (same common name and
        birth date, unrelated) become more numerous per record as the index grows: one more bit
        of evidence is asked for every doubling beyond the labelled sample the thresholds came from.
        """
        shift = math.log2(records / self.training_records) if records > self.training_records > 0 else 0.0
        scaled = copy.copy(self)
        scaled.thresholds = Thresholds(
            auto=self.trained_thresholds.auto + shift, review=self.trained_thresholds.review + shift
        )
        return scaled

    @property
    def floor(self) -> float:
        """The lowest evidence worth computing: a pair only an identifier typo holds apart."""
        return min(self.thresholds.review, self.thresholds.auto + min(self._identifier_weights()))

    def _identifier_weights(self) -> list[float]:
        return [self.weights[i][-1] for i in IDENTIFIER_COMPARISONS]

    def worth_review(self, evidence: float, weights: Iterable[float]) -> bool:
        """In the band, or would be linked but for two different identifiers of one kind (a typo
        that kept its check digit valid, or two children): either way a person decides."""
        if evidence >= self.thresholds.review:
            return True
        weights = list(weights)
        disagreement = sum(min(weights[i], 0.0) for i in IDENTIFIER_COMPARISONS)
        return disagreement < 0 and evidence - disagreement >= self.thresholds.auto

    def probability(self, evidence: float) -> float:
        odds = self.prior / (1 - self.prior) * 2**evidence
        return odds / (1 + odds)


def name_shares(records: "pd.DataFrame", tf: dict[str, dict[str, float]]) -> "pd.Series":
    """The share of records bearing each record's given and family name (as `name_share`), by id:
    the same figure the namesake guard reads, for the millions of records of a full run or a
    training sample."""
    import pandas as pd

    given = records["given"].map(tf.get("given", {})).fillna(0.0)
    family = records["family"].map(tf.get("family", {})).fillna(0.0)
    return pd.Series((given * family).to_numpy(), index=records["unique_id"].astype("int64"))


def pair_name_shares(shares: "pd.Series", left: "pd.Series", right: "pd.Series") -> list[float]:
    """For each pair of record ids, the commoner side's name share (0 for ids not in `shares`)."""
    import pandas as pd

    both = pd.concat([left.astype("int64").map(shares), right.astype("int64").map(shares)], axis=1)
    return both.max(axis=1).fillna(0.0).tolist()


def _level_weights(comparisons: list[dict]) -> tuple[list[list[float]], list[dict[int, str]]]:
    """Map Splink's saved levels onto ours, refusing an artifact that does not fit this module."""
    weights, tf_levels = [], []
    for ours, theirs in zip(COMPARISONS, comparisons, strict=True):
        _check_shape(ours, theirs)
        saved = [lv for lv in theirs["comparison_levels"] if not lv.get("is_null_level")]
        weights.append([math.log2(lv["m_probability"] / lv["u_probability"]) for lv in saved])
        tf_levels.append(
            {i: lv["tf_adjustment_column"] for i, lv in enumerate(saved) if "tf_adjustment_column" in lv}
        )
    return weights, tf_levels


def _check_shape(ours: Comparison, theirs: dict) -> None:
    labels = [lv["label_for_charts"] for lv in theirs["comparison_levels"] if not lv.get("is_null_level")]
    expected = [level.label for level in ours.levels] + ["different"]
    if theirs["output_column_name"] != ours.name or labels != expected:
        raise ValueError(
            f"The model artifact's comparison {theirs['output_column_name']!r} has levels {labels}; "
            f"this code defines {ours.name!r} with {expected}. Retrain the model."
        )


@lru_cache(maxsize=4)
def _load(path: str) -> MatchModel:
    return MatchModel.load(Path(path))


def _u_table(comparisons: list[dict]) -> list[list[float]]:
    return [
        [lv["u_probability"] for lv in c["comparison_levels"] if not lv.get("is_null_level")]
        for c in comparisons
    ]


def current_model() -> MatchModel:
    """The model in force (CONTACTPOINT_LINKAGE_MODEL names an artifact; default: the newest shipped)."""
    name = settings.CONTACTPOINT_LINKAGE_MODEL or _newest()
    path = Path(name) if "/" in name else ARTIFACTS / name
    return _load(str(path))


def _newest() -> str:
    """Listed again only when the folder changes (a file added or removed changes its mtime):
    every search asks, and listing the folder cost more than the rest of choosing the model."""
    return _newest_in(str(ARTIFACTS), ARTIFACTS.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _newest_in(folder: str, changed: int) -> str:
    names = sorted(p.name for p in Path(folder).glob("model-*.json"))
    if not names:
        raise FileNotFoundError(f"No linkage model artifact in {ARTIFACTS}; run `contactpoint train_model`.")
    return names[-1]
