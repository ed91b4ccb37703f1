"""The retention policy, declared as data (domain.md section 7).

Two halves. The lifecycle: when a child's record is archived and when it is destroyed. And the
coverage: for every model that holds a child's data, and every relation through which it does,
what destroying the child does to its rows. `contactpoint apply_retention` applies both; a test
fails the build when a model or relation holding child data has no rule here (see
`uncovered`), so nothing new can outlive the child by being forgotten.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from .models import RetentionConsent

ARCHIVE_AT_AGE = 18
CONSENTED_LIVE_TO_AGE = 25  # care leavers and SEN, with their recorded consent
CONSENTS = tuple(RetentionConsent.values)
LIVE_AFTER_DEATH_YEARS = 1
DATA_MANAGER_ARCHIVE_YEARS = 1  # data managers see an archived record during its first year
DESTROY_AFTER_ARCHIVE_YEARS = 6  # the Limitation Act period


class ArchiveAccessBasis(StrEnum):
    """The only grounds for opening a record archived more than a year ago."""

    S47_ENQUIRY = "s47_enquiry"
    SERIOUS_CASE_REVIEW = "serious_case_review"
    CHILD_DEATH_REVIEW = "child_death_review"


ARCHIVE_ACCESS_LABELS = {
    ArchiveAccessBasis.S47_ENQUIRY: "Section 47 enquiry (Children Act 1989)",
    ArchiveAccessBasis.SERIOUS_CASE_REVIEW: "Serious case review",
    ArchiveAccessBasis.CHILD_DEATH_REVIEW: "Child death review",
}


def years_after(day: datetime.date, years: int) -> datetime.date:
    """The same day `years` later; 29 February falls on 1 March in a common year (as a birthday does)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return datetime.date(day.year + years, 3, 1)


class OnDestroy(StrEnum):
    DELETE = "delete"  # the rows go with the child
    WITH_CHILD = "with_child"  # the related child is the same person (a merged duplicate): destroyed too
    DETACH = "detach"  # another child's row only mentions this one: the mention is cleared


@dataclass(frozen=True)
class Rule:
    """What destroying a child does to `model`'s rows that reach it through `relation`.

    `relation` is the model's field that holds (or leads to) the child; `path` is the lookup from
    the model to the child's primary key. Rules run in the order declared: rows that protect
    others go first.
    """

    model: str
    relation: str
    on_destroy: OnDestroy
    why: str
    path: str = ""

    @property
    def lookup(self) -> str:
        return self.path or self.relation


RULES: tuple[Rule, ...] = (
    Rule("records.Child", "merged_into", OnDestroy.WITH_CHILD, "A merged duplicate is the same child."),
    Rule("linkage.ReviewItem", "child_a", OnDestroy.DELETE, "A possible match involving the child."),
    Rule("linkage.ReviewItem", "child_b", OnDestroy.DELETE, "A possible match involving the child."),
    Rule(
        "linkage.ReviewItem", "record_a", OnDestroy.DELETE, "Compares the child's record.", "record_a__child"
    ),
    Rule(
        "linkage.ReviewItem", "record_b", OnDestroy.DELETE, "Compares the child's record.", "record_b__child"
    ),
    Rule("linkage.ChildMerge", "survivor", OnDestroy.DELETE, "Merge history of the child."),
    Rule("linkage.ChildMerge", "merged", OnDestroy.DELETE, "Merge history of the child."),
    Rule("linkage.RecordLink", "child", OnDestroy.DELETE, "How the child's records were linked."),
    Rule(
        "linkage.RecordLink",
        "previous_child",
        OnDestroy.DETACH,
        "Another child's record once sat in this child: keep its link, forget this child.",
    ),
    Rule("linkage.RecordLink", "record", OnDestroy.DELETE, "Links of the child's records.", "record__child"),
    Rule("linkage.CandidateKey", "child", OnDestroy.DELETE, "Blocking keys: the blind search index."),
    Rule(
        "linkage.CandidateKey", "record", OnDestroy.DELETE, "Blocking keys of its records.", "record__child"
    ),
    Rule(
        "feeds.SourceRecordVersion",
        "record",
        OnDestroy.DELETE,
        "Superseded accounts of the child.",
        "record__child",
    ),
    Rule(
        "feeds.SourceRecordVersion",
        "sealed_key",
        OnDestroy.DELETE,
        "Sealed under the child's key (moved to another child, not yet re-sealed): unreadable now.",
    ),
    Rule(
        "feeds.SourceRecord",
        "sealed_key",
        OnDestroy.DELETE,
        "Sealed under the child's key (moved to another child, not yet re-sealed): unreadable now.",
    ),
    Rule("feeds.SourceRecord", "child", OnDestroy.DELETE, "Each source's account of the child."),
    Rule("access.BreakGlassAlert", "child", OnDestroy.DELETE, "Overrides of the child's shield."),
    Rule(
        "access.BreakGlassAlert",
        "shield",
        OnDestroy.DELETE,
        "Overrides of the child's shield.",
        "shield__child",
    ),
    Rule("access.Shield", "child", OnDestroy.DELETE, "The child's shield and its reason."),
    Rule(
        "notifications.Delivery",
        "event",
        OnDestroy.DELETE,
        "Sends of the child's events (receivers keep their own copies).",
        "event__child",
    ),
    Rule("notifications.Event", "child", OnDestroy.DELETE, "What happened to the child (the outbox)."),
    Rule(
        "notifications.Event",
        "other_child",
        OnDestroy.DETACH,
        "Another child's event (a merge) only mentions this one: the mention is cleared.",
    ),
    Rule(
        "notifications.EmergencyLookup",
        "child",
        OnDestroy.DELETE,
        "Emergency settings that opened the record.",
    ),
    Rule("records.ChildName", "child", OnDestroy.DELETE, "Statutory item."),
    Rule("records.ChildGender", "child", OnDestroy.DELETE, "Statutory item."),
    Rule("records.ChildBirthDate", "child", OnDestroy.DELETE, "Statutory item."),
    Rule("records.ChildAddress", "child", OnDestroy.DELETE, "Statutory item."),
    Rule("records.ChildIdentifier", "child", OnDestroy.DELETE, "Statutory item."),
    Rule("records.Carer", "child", OnDestroy.DELETE, "Statutory item."),
    Rule("records.EducationSetting", "child", OnDestroy.DELETE, "Statutory item."),
    Rule("records.GPRegistration", "child", OnDestroy.DELETE, "Statutory item."),
    Rule("records.Involvement", "child", OnDestroy.DELETE, "Statutory item."),
    Rule("subject_access.Rectification", "child", OnDestroy.DELETE, "Corrections to the child's values."),
    Rule(
        "subject_access.SourceNotification",
        "rectification",
        OnDestroy.DELETE,
        "Tells a source of a correction.",
        "rectification__child",
    ),
    Rule("retention.ChildDataKey", "child", OnDestroy.DELETE, "Deleting the key is the crypto-shred."),
    Rule(
        "retention.ChildRetention", "child", OnDestroy.DELETE, "Lifecycle state; the ledger keeps the dates."
    ),
    Rule("records.Child", "pk", OnDestroy.DELETE, "The child itself, last (its ID is never reused)."),
)


def rules_for(model_label: str) -> list[Rule]:
    return [rule for rule in RULES if rule.model == model_label]


def child_data_relations(models: Iterable[type]) -> set[tuple[str, str]]:
    """(model, field) for every relation by which a model holds child data: a foreign key to the
    child, or to another model that holds child data."""
    from django.apps import apps

    from contactpoint.records.models import Child

    holding = set(models)
    # Rows that point at rows holding child data hold it too (a feed record's versions, its keys).
    changed = True
    while changed:
        changed = False
        for model in apps.get_models():
            if model not in holding and any(
                getattr(f, "related_model", None) in holding and f.many_to_one
                for f in model._meta.concrete_fields
            ):
                holding.add(model)
                changed = True
    relations = {(Child._meta.label, "pk")}
    for model in holding:
        for field in model._meta.concrete_fields:
            if getattr(field, "related_model", None) in holding:
                relations.add((model._meta.label, field.name))
    return relations


def uncovered(models: Iterable[type]) -> list[tuple[str, str]]:
    """Relations holding child data that no rule covers (empty when the policy is complete)."""
    covered = {(rule.model, rule.relation) for rule in RULES}
    return sorted(child_data_relations(models) - covered)
