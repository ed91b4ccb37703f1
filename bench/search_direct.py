"""A search benchmark's index written directly, as if the feed loader and the linker had built it.

Building 1M children through the loader and `contactpoint link` takes hours on two shared cores,
and what a search reads does not depend on how the rows got there. This writes the same tables a
link run leaves for the search to read, with COPY, straight from the synthetic generator:

- one `Child` per synthetic person (so every link is taken to be right: the linker's own errors
  are measured by bench/linkage_quality.py, not here), with its chosen name, birth date, gender
  and address (the person's true values, where the linker would pick the most authoritative
  source's);
- one `SourceRecord` per feed row the generator renders (nicknames, typos, stale addresses,
  swapped dates, former surnames), validated by the loader's own `RowValidator` (rows it would
  quarantine are left out), linked to that child;
- the linked records' blind `CandidateKey` rows (blocking keys and family-name trigrams within
  the birth date), computed by the same `record_keys` linkage writes, under the database's index key;
- the secondary indexes (the key B-tree) built after the COPY, as a restore would, instead of
  row by row.

Not written: carers, schools, GPs, involvements, identifiers and the records' extras (a search
reads none of them), review items, link history. `children.csv` (the people, for the query
generator) and `linked.csv` (each person's ContactPoint ID) go to the work directory.
"""

import csv
import datetime
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AS_OF = datetime.date(2026, 10, 1)
BATCH = 20_000  # people per COPY round: bounded memory at 3M


def build(directory: Path, children: int, seed: int, *, workers: int = 3) -> dict[str, object]:
    """Generate and write the index into the (migrated, empty) database Django is set up on.

    The population is generated here a slice at a time, and each slice goes to one of `workers`
    forked processes as soon as it is drawn, which renders, validates, keys and COPYs it (its
    own renderer seeded from the seed and the slice, its own ids: a child's id is its place in
    the population, a record's is derived from it). At most IN_FLIGHT slices per worker are
    drawn and not yet written, so memory does not grow with the population (a 3M build has to
    fit beside the database on a shared machine; holding it all grew with N).
    """
    import multiprocessing
    from collections import deque

    from django.db import connections

    from contactpoint.synthetic.population import Population

    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    population = Population(children=children, seed=seed, as_of=AS_OF)
    context = _Context.prepared(directory, population)
    dropped = _drop_secondary_indexes()
    connections.close_all()  # each worker opens its own
    global _SHARED
    _SHARED = (population, context, directory, seed)
    counts = {"children": 0, "records": 0, "keys": 0, "people": 0}
    drawing = 0.0

    def collect(written: dict[str, int]) -> None:
        for key in counts:
            counts[key] += written[key]
        print(f"  {counts['people']:,} people written", flush=True)

    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pending: deque = deque()
        slices = _slices(population)
        while True:
            drawn = time.perf_counter()
            bounds = next(slices, None)
            drawing += time.perf_counter() - drawn
            if bounds is None:
                break
            pending.append(pool.apply_async(_write_slice, bounds))
            if len(pending) >= workers * IN_FLIGHT:
                collect(pending.popleft().get())
        while pending:
            collect(pending.popleft().get())
    parts = -(-counts.pop("people") // BATCH)
    _concatenate(directory, parts)
    written_at = time.perf_counter()
    _recreate(dropped)
    _finish_run(counts)
    seconds = {
        "generate": round(drawing),  # in the parent, while the workers wrote earlier slices
        "write": round(written_at - started),
        "index": round(time.perf_counter() - written_at),
    }
    return {**counts, "seconds": seconds}


_SHARED: tuple = ()  # what forked workers inherit: population (its organisations), context, directory, seed
RECORDS_PER_PERSON = 32  # a person's records take ids person * 32 + n (no person has that many)
IN_FLIGHT = 2  # slices per worker drawn and not yet written: one being written, one waiting


def _slices(population) -> Iterator[tuple[int, list]]:
    """(first index, people) for each BATCH of the population, in order, as it is generated."""
    people: list = []
    start = 0
    for household in population.households():
        people.extend(household)
        if len(people) >= BATCH:
            yield start, people[:BATCH]
            people, start = people[BATCH:], start + BATCH
    if people:
        yield start, people


def _write_slice(start: int, people: list) -> dict[str, int]:
    from contactpoint.synthetic.feeds import FeedRenderer, person_row

    population, context, directory, seed = _SHARED
    renderer = FeedRenderer(population, seed * 1_000_003 + start)
    batch = _Batch(context)
    part = directory / f"part-{start // BATCH:05d}"
    with (
        (part.with_suffix(".children.csv")).open("w", newline="", encoding="utf-8") as people_file,
        (part.with_suffix(".linked.csv")).open("w", newline="", encoding="utf-8") as linked_file,
    ):
        people_out, linked_out = csv.writer(people_file), csv.writer(linked_file)
        for index, child in enumerate(people, start):
            rows = list(renderer.rows(child))
            contactpoint_id = batch.add(index, child, rows, renderer)
            if contactpoint_id:
                people_out.writerow(person_row(child))
                linked_out.writerow((child.pid, contactpoint_id))
    return {**batch.write(), "people": len(people)}


def _concatenate(directory: Path, parts: int) -> None:
    """The workers' slices of children.csv and linked.csv, in population order."""
    from contactpoint.synthetic.feeds import PEOPLE_COLUMNS

    for name, header in (("children", PEOPLE_COLUMNS), ("linked", ("person_id", "contactpoint_id"))):
        with (directory / f"{name}.csv").open("w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerow(header)
            for number in range(parts):
                part = directory / f"part-{number:05d}.{name}.csv"
                out.write(part.read_text(encoding="utf-8"))
                part.unlink()


@dataclass(frozen=True)
class _Context:
    """What every row refers to: sources, their ledger rows, local authorities, the first ids."""

    now: datetime.datetime
    sources: dict[str, Any]
    files: dict[str, Any]
    validators: dict[str, Any]
    areas: dict[str, int]
    index_key: bytes
    first_child: int
    first_record: int
    first_birth_date: int
    first_name: int
    first_address: int
    aead: Any = None  # no child's key: every child's rows are sealed under its own (data_key)

    def data_key(self) -> tuple[str, bytes, str, datetime.datetime]:
        """A new child's data key, kept for the rows of this child that follow (one child at a time)."""
        import secrets
        import uuid

        from contactpoint.retention import crypto

        key_id, plain = uuid.uuid4().hex, secrets.token_bytes(crypto.KEY_BYTES)
        wrapped, kek_id = crypto.key_wrap(plain, key_id=key_id)
        object.__setattr__(self, "aead", crypto.cipher(plain))
        return key_id, wrapped, kek_id, self.now

    @classmethod
    def prepared(cls, directory: Path, population) -> "_Context":
        from django.utils import timezone

        from contactpoint.feeds.loader import accepted_columns
        from contactpoint.feeds.models import FeedFile
        from contactpoint.feeds.services import sources_sync
        from contactpoint.feeds.validation import RowValidator
        from contactpoint.linkage.blind import index_keys
        from contactpoint.records import services
        from contactpoint.records.models import Organisation, OrganisationKind, Source
        from contactpoint.synthetic.feeds import FEED_SOURCES, _write_organisations

        sources_sync()
        _write_organisations(directory / "organisations.csv", population)
        with (directory / "organisations.csv").open(newline="") as handle:
            services.organisations_load(rows=list(csv.DictReader(handle)))
        now = timezone.now()
        sources = {s.code: s for s in Source.objects.filter(code__in=FEED_SOURCES)}
        files = {
            code: FeedFile.objects.create(
                source=source,
                name=f"{code}.csv (written directly)",
                sha256=hashlib.sha256(f"{code} {now.isoformat()}".encode()).hexdigest(),
                format="csv",
                extracted_at=now,
                finished_at=now,
                status="loaded",
            )
            for code, source in sources.items()
        }
        return cls(
            now=now,
            sources=sources,
            files=files,
            validators={
                code: RowValidator(accepted=accepted_columns(source), today=AS_OF)
                for code, source in sources.items()
            },
            areas=dict(
                Organisation.objects.filter(kind=OrganisationKind.LOCAL_AUTHORITY).values_list("code", "pk")
            ),
            index_key=index_keys(fresh=True)[0],
            first_child=_next_id("records_child"),
            first_record=_next_id("feeds_sourcerecord"),
            first_birth_date=_next_id("records_childbirthdate"),
            first_name=_next_id("records_childname"),
            first_address=_next_id("records_childaddress"),
        )


def _next_id(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")  # noqa: S608 (a fixed name)
        return cursor.fetchone()[0]


class _Batch:
    """One round of people: the rows of each table, then one COPY per table."""

    def __init__(self, context: _Context) -> None:
        self.context = context
        self.tables: dict[str, list[tuple]] = {name: [] for name in COLUMNS}

    def add(self, index: int, child, rows: list[tuple[str, dict[str, str]]], renderer) -> str:
        from contactpoint.feeds.models import SourceRecord
        from contactpoint.linkage.candidates import record_keys
        from contactpoint.records import sealed
        from contactpoint.records.models import ChildAddress, ChildBirthDate, ChildName
        from contactpoint.records.services import contactpoint_id_generate
        from contactpoint.synthetic.reference import LOCAL_AUTHORITIES

        context = self.context
        accepted = []
        for number, (source, raw) in enumerate(rows):
            raw["source_record_id"] = (
                f"{renderer.next_id(source)[:3]}{index:09d}{number:02d}"  # unique per slice
            )
            outcome = context.validators[source].validate(0, raw)
            if not outcome.quarantine:
                accepted.append((source, outcome))
        if not accepted:
            return ""
        child_pk = context.first_child + index
        contactpoint_id = contactpoint_id_generate()
        now = context.now
        self.tables["records_issuedcontactpointid"].append((contactpoint_id, now))
        self.tables["records_child"].append((child_pk, contactpoint_id, now))
        first_source, first = accepted[0]
        provenance = (context.sources[first_source].pk, first.source_record_id, now, now, child_pk, True)
        self.tables["retention_childdatakey"].append((child_pk, *context.data_key()))
        names = {
            "given_name": child.given_name,
            "middle_names": child.middle_names,
            "family_name": child.family_name,
        }
        name = sealed.row_sealed(context.aead, ChildName, context.first_name + index, names)
        self.tables["records_childname"].append((*provenance, "current", *name.values()))
        born = sealed.row_sealed(
            context.aead, ChildBirthDate, context.first_birth_date + index, {"date_of_birth": child.dob}
        )
        self.tables["records_childbirthdate"].append((*provenance, *born.values()))
        self.tables["records_childgender"].append((*provenance, child.gender))
        address = child.address
        area = context.areas.get(LOCAL_AUTHORITIES[address.la_index].number)
        lines = {"address_line_1": address.line_1, "town": address.town, "postcode": address.postcode}
        sealed_address = sealed.row_sealed(
            context.aead, ChildAddress, context.first_address + index, {"status": "current", **lines}
        )
        self.tables["records_childaddress"].append(
            (*provenance, "current", "", area, *sealed_address.values())
        )
        assert len(accepted) < RECORDS_PER_PERSON
        for number, (source, outcome) in enumerate(accepted):
            pk = context.first_record + index * RECORDS_PER_PERSON + number
            values = outcome.values
            file = context.files[source].pk
            plain = {n: values[n] or "" for n in SourceRecord.SEALED if n not in ("date_of_birth", "extras")}
            self.tables["feeds_sourcerecord"].append(
                (
                    pk,
                    context.sources[source].pk,
                    outcome.source_record_id,
                    values["gender"] or "",
                    values["retention_consent"] or "",
                    bool(values["nhs_number"]),
                    "",  # no extras, so no organisation codes
                    # Linked already: sealed under the child's key, as materialisation leaves it.
                    sealed.seal(
                        context.aead,
                        SourceRecord,
                        pk,
                        {**plain, "date_of_birth": values["date_of_birth"], "extras": {}},
                    ),
                    child_pk,
                    hashlib.md5(repr(sorted(values.items())).encode(), usedforsecurity=False).hexdigest(),
                    now,
                    file,
                    file,
                    False,
                    child_pk,
                )
            )
            keys = record_keys({"pk": pk, "source__code": source, **values}, context.index_key)
            self.tables["linkage_candidatekey"].extend((pk, child_pk, key) for key in keys)
        return contactpoint_id

    def write(self) -> dict[str, int]:
        from django.db import connection, transaction

        with transaction.atomic(), connection.cursor() as cursor:
            # As pg_restore --disable-triggers: the rows are consistent by construction, and
            # checking each foreign key row by row was most of the build's time.
            cursor.execute("SET LOCAL session_replication_role = replica")
            for table, rows in self.tables.items():
                with cursor.cursor.copy(f"COPY {table} ({', '.join(_columns(table))}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        return {
            "children": len(self.tables["records_child"]),
            "records": len(self.tables["feeds_sourcerecord"]),
            "keys": len(self.tables["linkage_candidatekey"]),
        }


_PROVENANCE = ("source_id", "source_record_id", "asserted_at", "recorded_at", "child_id", "is_chosen")
COLUMNS = {
    "records_issuedcontactpointid": ("value", "issued_at"),
    "records_child": ("id", "contactpoint_id", "created_at"),
    "records_childname": (),  # sealed: see _columns
    "records_childbirthdate": (),
    "retention_childdatakey": ("child_id", "key_id", "wrapped", "kek_id", "created_at"),
    "records_childgender": (*_PROVENANCE, "gender"),
    "records_childaddress": (),
    "feeds_sourcerecord": (
        "id",
        "source_id",
        "source_record_id",
        "gender",
        "retention_consent",
        "has_nhs_number",
        "organisation_codes",
        "sealed_values",
        "sealed_child_id",
        "content_hash",
        "asserted_at",
        "first_file_id",
        "last_file_id",
        "needs_linking",
        "child_id",
    ),
    "linkage_candidatekey": ("record_id", "child_id", "key"),
}


def _columns(table: str) -> tuple[str, ...]:
    """A table's columns in the order its rows are built; a sealed table's as records.sealed
    writes them (the id, the blob, the clear parts)."""
    from contactpoint.records import sealed
    from contactpoint.records.models import ChildAddress, ChildBirthDate, ChildName
    from contactpoint.retention.crypto import cipher

    aead = cipher(bytes(32))
    if table == "records_childname":
        names = {"given_name": "A", "middle_names": "", "family_name": "B"}
        return (*_PROVENANCE, "kind", *sealed.row_sealed(aead, ChildName, 1, names))
    if table == "records_childbirthdate":
        born = {"date_of_birth": datetime.date(2000, 1, 1)}
        return (*_PROVENANCE, *sealed.row_sealed(aead, ChildBirthDate, 1, born))
    if table == "records_childaddress":
        address = {"status": "current", "postcode": "LS6 2AB"}
        return (
            *_PROVENANCE,
            "status",
            "return_intent",
            "local_authority_id",
            *sealed.row_sealed(aead, ChildAddress, 1, address),
        )
    return COLUMNS[table]


def _drop_secondary_indexes() -> list[str]:
    """Indexes that no constraint needs, dropped before the COPY and rebuilt once after it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s)"
            " AND i.schemaname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
            " WHERE c.conname = i.indexname)",
            [list(COLUMNS)],
        )
        found = cursor.fetchall()
        for name, _ in found:
            cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in found]


def _recreate(definitions: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for definition in definitions:
            cursor.execute(definition)
        for table in COLUMNS:
            cursor.execute(f"ANALYZE {table}")
        sealed_tables = ("records_childbirthdate", "records_childname", "records_childaddress")
        for table in ("records_child", "feeds_sourcerecord", *sealed_tables):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
            )


def _finish_run(counts: dict) -> None:
    """A finished link run, so the benchmark's `built()` keeps this database for later runs."""
    from django.utils import timezone

    from contactpoint.linkage.models import LinkRun

    LinkRun.objects.create(
        kind="full", model_version="direct", finished_at=timezone.now(), counts={**counts, "direct": True}
    )


def linked(directory: Path) -> dict[str, str]:
    """Each person's ContactPoint ID, as the direct build wrote them."""
    with (directory / "linked.csv").open(newline="") as handle:
        return dict(csv.reader(handle))
