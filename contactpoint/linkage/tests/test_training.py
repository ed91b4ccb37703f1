"""Thresholds read off a labelled sample see the guard exactly as a run does."""

import pandas as pd

from contactpoint.linkage.guard import COMMON_NAME_SHARE
from contactpoint.linkage.model import COMPARISONS
from contactpoint.linkage.scoring import name_shares
from contactpoint.linkage.training import gamma_columns, labelled_pairs, thresholds_choose

PRIOR_WEIGHT = -15.0


def _gammas(**levels: int) -> list[int]:
    """Splink's gamma per comparison from our level indexes (0 = best, -1 = unknown)."""
    out = []
    for comparison in COMPARISONS:
        level = levels.get(comparison.name, -1)
        out.append(-1 if level < 0 else len(comparison.levels) - level)
    return out


NAMESAKES = _gammas(given_name=0, family_name=0, date_of_birth=0, gender=0, location=4)
SAME_HOME = _gammas(given_name=0, family_name=0, date_of_birth=0, gender=0, location=0)


def _sample() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A labelled sample: true pairs scoring 30 and 20 bits, and unrelated namesakes between them
    at 25 bits (a common name and birth date, nothing else in common)."""
    rows, records = [], []
    groups = (
        [(30.0, SAME_HOME, True)] * 1000 + [(25.0, NAMESAKES, False)] * 10 + [(20.0, SAME_HOME, True)] * 1000
    )
    for number, (evidence, gammas, same) in enumerate(groups):
        left, right = 2 * number, 2 * number + 1
        rows.append(
            {
                "unique_id_l": left,
                "unique_id_r": right,
                "match_weight": evidence + PRIOR_WEIGHT,
                "label_l": f"p{left}",
                "label_r": f"p{left}" if same else f"p{right}",
                **dict(zip(gamma_columns(), gammas, strict=True)),
            }
        )
        common = not same
        for uid in (left, right):
            records.append({"unique_id": uid, "given": "OLIVIA" if common else f"G{uid}", "family": "SMITH"})
    return pd.DataFrame(rows), pd.DataFrame(records)


def _tables(records: pd.DataFrame) -> dict[str, dict[str, float]]:
    return {c: (records[c].value_counts() / len(records)).to_dict() for c in ("given", "family")}


def test_training_refuses_common_namesakes_as_runs_do():
    predictions, records = _sample()
    shares = name_shares(records, _tables(records))
    assert shares[predictions.unique_id_l.iloc[-1001]] >= COMMON_NAME_SHARE

    pairs = labelled_pairs(predictions, "label", PRIOR_WEIGHT, shares)

    assert pairs.refused.tolist() == [False] * 1000 + [True] * 10 + [False] * 1000
    assert thresholds_choose(pairs, target_precision=0.9995, review_precision=0.02)["auto"] == 20.0


def test_rare_namesakes_still_count_against_auto():
    predictions, records = _sample()
    records["given"] = [f"G{uid}" for uid in records.unique_id]
    records["family"] = [f"F{uid}" for uid in records.unique_id]
    shares = name_shares(records, _tables(records))

    pairs = labelled_pairs(predictions, "label", PRIOR_WEIGHT, shares)

    assert not pairs.refused.any()
    assert thresholds_choose(pairs, target_precision=0.9995, review_precision=0.02)["auto"] == 30.0
