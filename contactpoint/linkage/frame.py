"""Source records as a table of matching features, for Splink and for the candidate index."""

from collections.abc import Iterable, Iterator
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
