"""What linkage keeps: the candidate index, its runs, its decisions and the review queue."""

from django.db import models

from contactpoint.feeds.models import SourceRecord
from contactpoint.records.models import Child


class CandidateKey(models.Model):
    """One blocking key of one linked source record: the index search and incremental linkage
    use to find candidates without scanning (see `model.BLOCKING_KEYS`), or one trigram of its
    family name within its birth date. Stored blind (an HMAC under an `IndexKey`, see
    linkage.blind): the index holds no name, birth date or identifier a dump could read."""

    record = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="+")
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="+")
    key = models.BinaryField(max_length=16)

    class Meta:
        indexes = [models.Index(fields=["key"], name="linkage_candidatekey_key")]


class IndexKey(models.Model):
    """A key the candidate index is blinded with, wrapped by the newest data KEK.

    Rotated on the backup cycle (`contactpoint rotate_index_key`: a new key, the index rebuilt
    under it, the old one deleted), so a stolen old backup's blind keys cannot be tested against a
    dictionary of names and birth dates once the KEK that wrapped its index key is retired.
    """

    key_id = models.CharField(max_length=32, unique=True)
    wrapped = models.BinaryField()
    kek_id = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)


class RunKind(models.TextChoices):
    FULL = "full", "Full re-link"
    INCREMENTAL = "incremental", "Incremental"


class LinkRun(models.Model):
    """One `link` run. A run that stops half-way is finished by the next (see services)."""

    kind = models.CharField(max_length=12, choices=RunKind.choices)
    model_version = models.CharField(max_length=40)
    engine = models.CharField(max_length=10, default="duckdb")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict)
    dropped_for_pass = models.JSONField(
        default=list,
        blank=True,
        help_text="Foreign keys and indexes a first pass dropped until it ends: [kind, table, name, "
        "definition] (see firstpass).",
    )


class MaterialisedBatch(models.Model):
    """One committed batch of a run's materialisation: the children whose values it wrote.

    Written in the batch's own transaction, so the set of these rows is exactly what a stopped
    run committed: the next run finishes the rest and skips these children. A ledger row per
    batch, rather than clearing a flag on every record, because rewriting each wide source-record
    row (and its indexes) cost as much as writing its values.
    """

    run = models.ForeignKey(LinkRun, on_delete=models.CASCADE, related_name="+")
    first_child = models.BigIntegerField()
    last_child = models.BigIntegerField()
    records = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "first_child"], name="materialisedbatch_once"),
            models.CheckConstraint(
                condition=models.Q(first_child__lte=models.F("last_child")), name="materialisedbatch_range"
            ),
        ]


class How(models.TextChoices):
    AUTO = "auto", "Linked automatically"
    NEW = "new", "New child (no match)"
    NEW_PENDING_REVIEW = "new_review", "New child, possible match sent to review"
    REVIEWER = "reviewer", "Linked by a reviewer"
    MERGE = "merge", "Moved by a merge"
    UNMERGE = "unmerge", "Moved back by an unmerge"
    RELINK = "relink", "Moved by a full re-link"


class RecordLink(models.Model):
    """Every decision that put a source record in a child, oldest first: the link history.

    Records the model version and evidence, so any link can be explained and any merge undone.
    """

    record = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="+")
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="+")
    previous_child = models.ForeignKey(
        Child, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    how = models.CharField(max_length=12, choices=How.choices)
    evidence = models.FloatField(null=True, blank=True)
    model_version = models.CharField(max_length=40, blank=True)
    run = models.ForeignKey(LinkRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["record", "at"], name="linkage_recordlink_record")]


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Waiting for a reviewer"
    LINKED = "linked", "Same child: merged"
    KEPT_APART = "kept_apart", "Different children"


class ReviewItem(models.Model):
    """Two children that may be one: a person decides. Shows the pair's evidence field by field."""

    child_a = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="+")
    child_b = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="+")
    record_a = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="+")
    record_b = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="+")
    evidence = models.FloatField()
    weights = models.JSONField(help_text="Per comparison: [level label, log2 Bayes factor] (the waterfall).")
    reason = models.CharField(max_length=120, blank=True, help_text="Why it was not linked automatically.")
    model_version = models.CharField(max_length=40)
    run = models.ForeignKey(LinkRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=ReviewStatus.choices, default=ReviewStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["child_a", "child_b"],
                condition=models.Q(status="open"),
                name="review_one_open_per_pair",
            ),
            models.CheckConstraint(
                condition=models.Q(child_a__lt=models.F("child_b")), name="review_pair_ordered"
            ),
        ]


class ChildMerge(models.Model):
    """Two children found to be one. Which records moved is kept, so the merge can be undone."""

    survivor = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="+")
    merged = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="+")
    record_ids = models.JSONField()
    reason = models.CharField(max_length=200)
    by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
