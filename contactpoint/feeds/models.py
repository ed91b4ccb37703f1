"""What the feeds have said: a ledger of files, the latest version of each source record with its
history, the rows held back (quarantined) with their reasons, and per-value data-quality warnings.

A SourceRecord is one source's current account of one child. Loading never links: new and
changed records are flagged `needs_linking` for the linkage step, which turns them into child
record assertions.
"""

from django.db import models
from django.db.models import Q

from contactpoint.records.models import Child, Gender, Source
from contactpoint.retention.models import ChildDataKey


class FeedFileStatus(models.TextChoices):
    LOADING = "loading", "Loading"
    LOADED = "loaded", "Loaded"


class FeedFile(models.Model):
    """The ledger: one row per distinct file content per source, so a re-sent file is a no-op."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="feed_files")
    name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=16)
    extracted_at = models.DateTimeField(help_text="When the source asserted the file's values.")
    received_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=FeedFileStatus.choices, default=FeedFileStatus.LOADING)
    rows_done = models.PositiveIntegerField(default=0, help_text="Rows committed so far.")
    report = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "sha256"], name="feedfile_once_per_source")]
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.source.code}: {self.name}"


class FeedBatch(models.Model):
    """One committed batch of a file: the rows it covered and what it did.

    Written in the same transaction as the batch's rows, by whichever process wrote them, so the
    set of these rows is exactly what a crashed load committed: a re-run skips their rows. Batches
    may commit out of file order when several processes write, hence ranges, not a prefix.
    """

    file = models.ForeignKey(FeedFile, on_delete=models.CASCADE, related_name="batches")
    first_row = models.PositiveIntegerField()
    last_row = models.PositiveIntegerField()
    report = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "first_row"], name="feedbatch_once")]


class LoadKey(models.Model):
    """The data key feed rows are sealed under until linkage knows whose they are: one per file.

    Stored only wrapped by the data KEK, like a child's key (retention.crypto), and rewrapped with
    them. Materialisation re-seals a linked record under its child's key; a load key on which no
    row depends any more is deleted (`load_keys_release`), so it does not outlive the backup cycle
    (docs/adr/0010-retention.md). A key per file, not per row: generating and wrapping a key costs
    more than sealing the row.
    """

    file = models.OneToOneField(
        "FeedFile", null=True, blank=True, on_delete=models.SET_NULL, related_name="load_key"
    )
    key_id = models.CharField(max_length=40, unique=True)
    wrapped = models.BinaryField()
    kek_id = models.CharField(max_length=16, help_text="The key-encryption key that wrapped it.")
    created_at = models.DateTimeField(auto_now_add=True)
    rewrapped_at = models.DateTimeField(null=True, blank=True)


class SealedFeedRow(models.Model):
    """A feed row whose identifying values are one blob (records.sealed), and the key that sealed
    it: its child's data key once materialised, its file's load key before. Exactly one is set,
    so a reading statement joins the right wrapped key in (`sealed.key_columns`).

    Neither reference is a database constraint: a destroyed child's key goes with its records, and
    per-row trigger checks on a COPY are what the loader avoids (docs/adr/0002).
    """

    sealed_values = models.BinaryField(editable=False)
    sealed_key = models.ForeignKey(
        ChildDataKey,
        to_field="child",
        db_column="sealed_child_id",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    load_key = models.ForeignKey(
        LoadKey,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )

    class Meta:
        abstract = True


def _sealed_by_one_key(table: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(sealed_key__isnull=False, load_key__isnull=True)
        | Q(sealed_key__isnull=True, load_key__isnull=False),
        name=f"{table}_sealed_by_one_key",
    )


class SourceRecord(SealedFeedRow):
    """One source's latest account of one child, normalised; superseded accounts are versions.

    The identifying values (SEALED) are one blob, opened only through records.sealed; source,
    record id, gender, consent, dates and flags stay clear. The references to the ledger
    (first_file, last_file) carry no database foreign key: the loader writes them in the same
    transaction as the ledger row they name, and per-row trigger checks were most of the
    database's cost in a national load (see docs/adr/0002).
    """

    SEALED = (
        "given_name",
        "middle_names",
        "family_name",
        "former_family_name",
        "date_of_birth",
        "address_line_1",
        "town",
        "postcode",
        "nhs_number",
        "upn",
        "extras",
    )
    SEALED_DATES = ("date_of_birth",)
    SEALED_CLEAR = ("has_nhs_number", "organisation_codes")  # derived from sealed values, kept clear

    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="records", db_index=False
    )  # the unique (source, source_record_id) index serves look-ups by source
    source_record_id = models.CharField(max_length=128)
    gender = models.CharField(max_length=16, choices=Gender.choices, blank=True)
    retention_consent = models.CharField(max_length=32, blank=True)
    # Clear, derived from the sealed NHS number: the data-quality report counts records with one.
    has_nhs_number = models.BooleanField(default=False)
    # Clear: the school, GP practice and service the sealed extras name, space-separated, so that
    # area scoping (linkage.selectors.records_in_area) still runs in SQL. Not identifying alone.
    organisation_codes = models.CharField(max_length=200, blank=True)
    content_hash = models.CharField(max_length=32)
    asserted_at = models.DateTimeField()
    first_file = models.ForeignKey(
        FeedFile, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    last_file = models.ForeignKey(
        FeedFile, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    needs_linking = models.BooleanField(default=True)
    child = models.ForeignKey(Child, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "source_record_id"], name="sourcerecord_unique"),
            models.CheckConstraint(condition=~Q(source_record_id=""), name="sourcerecord_has_id"),
            _sealed_by_one_key("sourcerecord"),
        ]
        indexes = [
            models.Index(
                fields=["needs_linking"], condition=Q(needs_linking=True), name="sourcerecord_to_link"
            )
        ]


class SourceRecordVersion(SealedFeedRow):
    """A superseded account, kept as history when the source changed or withdrew it; its values
    (the record's sealed fields, gender and consent) are one sealed blob under the same kind of
    key as its record's."""

    SEALED = ("values",)
    record = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="versions")
    content_hash = models.CharField(max_length=32)
    asserted_at = models.DateTimeField()
    file = models.ForeignKey(FeedFile, on_delete=models.PROTECT, related_name="+")
    superseded_by_file = models.ForeignKey(FeedFile, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [_sealed_by_one_key("sourcerecordversion")]


class QuarantineStatus(models.TextChoices):
    OPEN = "open", "Awaiting correction"
    RESOLVED = "resolved", "Corrected and loaded"


class OwnKeySealed(models.Model):
    """A row whose identifying fields (`OWN_SEALED`) are one blob under a data key of its own, stored
    wrapped by the data KEK beside it: deleting the row shreds it, in old backups too once the KEK
    that wrapped the key is retired. Open and write only through `feeds.sealed`."""

    sealed = models.BinaryField(editable=False)
    key_wrapped = models.BinaryField(editable=False)
    key_id = models.CharField(max_length=32, editable=False)
    kek_id = models.CharField(max_length=16, editable=False)

    OWN_SEALED: tuple[str, ...] = ()

    class Meta:
        abstract = True


class QuarantinedRow(OwnKeySealed):
    """A row that cannot be an in-scope child, kept with its reasons for the source to correct.

    Only columns the source may send are kept; refused columns are never stored. Its cells and
    its warnings (whose messages may quote a cell) are sealed; the reasons are codes and stay
    clear, as do the organisation codes it names (the area a team may see it in).
    """

    OWN_SEALED = ("values", "warnings")

    file = models.ForeignKey(FeedFile, on_delete=models.CASCADE, related_name="quarantined")
    row_number = models.PositiveIntegerField()
    source_record_id = models.CharField(max_length=128, blank=True)
    organisation_codes = models.JSONField(
        default=dict, help_text="Column -> organisation code the row names."
    )
    reasons = models.JSONField()
    status = models.CharField(max_length=8, choices=QuarantineStatus.choices, default=QuarantineStatus.OPEN)
    resolved_by_file = models.ForeignKey(
        FeedFile, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "row_number"], name="quarantine_row_once")]
        indexes = [models.Index(fields=["status", "source_record_id"], name="quarantine_open_lookup")]


class DataQualityWarning(OwnKeySealed):
    """A value left out of a loaded row, reported back to the source. The message may quote the
    value, so it is sealed; the column and kind stay clear for reports."""

    OWN_SEALED = ("message",)

    file = models.ForeignKey(FeedFile, on_delete=models.CASCADE, related_name="warnings")
    row_number = models.PositiveIntegerField()
    source_record_id = models.CharField(max_length=128)
    column = models.CharField(max_length=64)
    kind = models.CharField(max_length=32)


def organisation_codes(extras: dict) -> str:
    """The organisation codes a record's extras name (`SourceRecord.organisation_codes`)."""
    named = (
        (extras.get("school") or {}).get("code"),
        (extras.get("gp") or {}).get("code"),
        (extras.get("involvement") or {}).get("organisation_code"),
    )
    return " ".join(dict.fromkeys(code for code in named if code))[:200]
