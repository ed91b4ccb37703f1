"""The record tables' sealed values: bound to their row, opened only through records.sealed."""

import ast
import datetime
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from django.db import connection

import contactpoint
from contactpoint.records import sealed
from contactpoint.records.models import ChildBirthDate
from contactpoint.retention.crypto import data_key_ensure

from .factories import ChildFactory, SourceFactory

ROOT = Path(contactpoint.__file__).parent
# Where the column may be named: its declaration, its one reader and writer, the door's
# statements (which select it with the child's key), and the migrations that made it.
MAY_NAME_THE_COLUMN = {
    "records/models.py",
    "records/sealed.py",
    "access/door.py",
    "records/tests/test_sealed.py",
    "feeds/models.py",
    "feeds/loader.py",  # writes feed rows by COPY, sealed under the file's load key
    "../bench/search_direct.py",  # writes linked feed rows by COPY, sealed under the child's key
}
# Which key sealed a feed row: named only where feed rows are declared, written, re-sealed or
# released, and by the one reader, which joins the key in (records.sealed.feed_key_columns).
FEED_KEY_NAMES = {"sealed_key", "sealed_child_id", "load_key", "load_key_id"}
MAY_NAME_THE_FEED_KEY = {
    "feeds/models.py",
    "feeds/loader.py",
    "feeds/services.py",
    "feeds/workers.py",
    "records/sealed.py",
    "linkage/materialise.py",
    "records/tests/test_sealed.py",
    "retention/policy.py",  # what destroying a child does to rows sealed under its key
    "records/statutory.py",  # which fields are bookkeeping
    "feeds/tests/test_sealed_records.py",
    "../bench/search_direct.py",
}


def _names_the_column(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and sealed.COLUMN in node.value:
            return True
        if isinstance(node, ast.Attribute) and node.attr in (sealed.COLUMN, "COLUMN"):
            return True
        if isinstance(node, ast.ImportFrom) and any(a.name == "COLUMN" for a in node.names):
            return True
    return False


def _modules_naming(names, allowed: set[str]) -> set[str]:
    """Modules of the project and its benchmarks (migrations aside) for which `names(tree)` holds."""
    naming = set()
    for path in [*ROOT.rglob("*.py"), *(ROOT.parent / "bench").rglob("*.py")]:
        where = (
            str(path.relative_to(ROOT))
            if path.is_relative_to(ROOT)
            else f"../{path.relative_to(ROOT.parent)}"
        )
        if "/migrations/" in where or where in allowed:
            continue
        if names(ast.parse(path.read_text(), filename=str(path))):
            naming.add(where)
    return naming


def test_only_the_door_and_records_sealed_name_the_sealed_column():
    assert _modules_naming(_names_the_column, MAY_NAME_THE_COLUMN) == set()


def _a_feed_key(text: str) -> bool:
    return any(text == n or text.startswith(f"{n}__") for n in FEED_KEY_NAMES)


def _names_the_feed_key(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _a_feed_key(node.value):
            return True
        if isinstance(node, ast.Attribute) and node.attr in FEED_KEY_NAMES:
            return True
        if isinstance(node, ast.keyword) and node.arg in FEED_KEY_NAMES:
            return True
    return False


def test_only_the_feed_writers_and_records_sealed_name_a_feed_rows_key():
    assert _modules_naming(_names_the_feed_key, MAY_NAME_THE_FEED_KEY) == set()


def _born(child, born=datetime.date(2014, 3, 7), *, chosen=True):
    return ChildBirthDate.objects.create(
        child=child,
        source=SourceFactory(),
        source_record_id="R1",
        asserted_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        date_of_birth=born,
        is_chosen=chosen,
    )


@pytest.mark.django_db
def test_a_sealed_row_opens_with_its_childs_key_in_the_same_statement():
    row = _born(ChildFactory())
    with pytest.raises(AttributeError, match="sealed"):
        ChildBirthDate.objects.get(pk=row.pk).date_of_birth  # noqa: B018 (reading it is the test)
    (opened,) = sealed.values_opened(ChildBirthDate.objects.filter(pk=row.pk), "child_id", "year_of_birth")
    assert opened == {
        "pk": row.pk,
        "child_id": row.child_id,
        "year_of_birth": 2014,
        "date_of_birth": datetime.date(2014, 3, 7),
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM records_childbirthdate WHERE id = %s", [row.pk])
        assert "2014-03-07" not in repr(cursor.fetchone())


@pytest.mark.django_db
def test_a_blob_moved_to_another_row_does_not_open():
    child = ChildFactory()
    first, second = _born(child), _born(child, datetime.date(2015, 1, 2), chosen=False)
    blob = ChildBirthDate.objects.filter(pk=first.pk).values_list(sealed.COLUMN, flat=True).get()
    ChildBirthDate.objects.filter(pk=second.pk).update(**{sealed.COLUMN: blob})
    with pytest.raises(InvalidTag):
        sealed.values_opened(ChildBirthDate.objects.filter(pk=second.pk))


@pytest.mark.django_db
def test_a_row_whose_key_is_gone_opens_empty():
    row = _born(ChildFactory())
    data_key_ensure(child_id=row.child_id).delete()
    (opened,) = sealed.values_opened(ChildBirthDate.objects.filter(pk=row.pk))
    assert opened["date_of_birth"] is None
