"""Source records as a table of matching features, for Splink and for the candidate index."""

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pandas as pd

from .features import FEATURE_COLUMNS, Features, features

# The carers a source names with the child (child benefit and children's services send two, schools
# and youth justice one): child benefit files a child under the claimant's surname.
CARER_FAMILY_NAMES = ("extras__carers__0__family_name", "extras__carers__1__family_name")
RECORD_FIELDS = (
    "pk",
    "source__code",
    "given_name",
    "family_name",
    "former_family_name",
    "date_of_birth",
    "gender",
    "postcode",
    "address_line_1",
    "nhs_number",
    "upn",
    *CARER_FAMILY_NAMES,
)


def record_features(row: dict[str, Any]) -> Features:
    return features(**row, carer_family_names=[row.get(name) for name in CARER_FAMILY_NAMES])


def feature_rows(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for row in rows:
        yield {"unique_id": row["pk"], "source": row["source__code"], **record_features(row)}


def frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per source record; list columns stay lists (DuckDB and Spark take arrays)."""
    return pd.DataFrame.from_records(
        list(feature_rows(rows)), columns=["unique_id", "source", *FEATURE_COLUMNS]
    )


def features_by_id(records: pd.DataFrame) -> dict[int, Features]:
    """Each row of a frame back as the features it was built from (missing values as None)."""
    columns = list(FEATURE_COLUMNS)
    values = records[columns].astype(object).where(records[columns].notna(), None)
    return {
        int(uid): Features(**dict(zip(columns, row, strict=True)))  # type: ignore[typeddict-item]
        for uid, row in zip(records["unique_id"], values.itertuples(index=False), strict=True)
    }


class ScoredFeatures:
    """The features a full run scored, looked up by record: its candidate keys are made of the
    same features, and computing them again was a third of the keys' cost."""

    def __init__(self, table: pd.DataFrame) -> None:
        self._table = table
        self._at = pd.Index(table["unique_id"])

    def of(self, record_ids: Sequence[int]) -> dict[int, Features]:
        """Those of these records the run scored (others are left out)."""
        at = self._at.get_indexer(list(record_ids))
        return features_by_id(self._table.iloc[at[at >= 0]])
