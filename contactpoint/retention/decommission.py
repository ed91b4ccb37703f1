"""Decommissioning the whole index (domain.md section 7): access ends at a set time, every data
key and every row of child data is destroyed, and a signed certificate says what was destroyed
and proves that nothing identifying can be read afterwards.

The certificate is signed with the audit keyring (the key that signs the audit chain, kept
outside the database) and names the audit chain's head after the destruction was logged, so it
can be checked against `contactpoint verify_audit`. Backups: each data key exists only in this
database's key table; backups of it must follow the key store's retention (docs/retention.md),
after which the sealed values in older backups cannot be opened either.
"""

import datetime
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.utils import timezone

from contactpoint.access.models import ApiToken, Profile
from contactpoint.audit import keys
from contactpoint.audit.criteria import criteria_keys_destroy
from contactpoint.audit.models import AuditCheckpoint, EventType
from contactpoint.audit.services import audit_record, chain_seal
from contactpoint.feeds.models import DataQualityWarning, FeedFile, LoadKey, QuarantinedRow, SourceRecord
from contactpoint.linkage.models import IndexKey
from contactpoint.records import sealed
from contactpoint.records.models import Child, ChildIdentifier, ChildName, Practitioner
from contactpoint.records.statutory import models_holding_child_data

from . import policy
from .models import ChildDataKey, Destruction
from .services import children_destroy

SYSTEM = "decommission"
NEEDLE_SAMPLE = 2000


class NotYet(Exception):
    """Access has not yet reached its end time."""


# The append-only audit log cannot be rewritten without breaking its chain; what it may still hold
# of a child is reported separately (search criteria are sealed and their keys destroyed above,
# but a user's free-text reason for access can name someone: see docs/audit.md).
AUDIT_TABLES = ("audit_auditevent",)


@dataclass(frozen=True)
class Proof:
    tables_scanned: int
    rows_scanned: int
    values_sought: int
    found: list[str]  # "table: value" for anything identifying still readable
    remaining: dict[str, int]  # rows left in models that held child data

    @property
    def outside_audit_log(self) -> list[str]:
        return [f for f in self.found if f.split(":", 1)[0] not in AUDIT_TABLES]

    @property
    def clean(self) -> bool:
        return not self.outside_audit_log and not any(self.remaining.values())


def _needles() -> list[str]:
    """A sample of identifying values to look for afterwards: family names (four letters or more,
    to keep chance matches down) and NHS numbers. Held in memory only, never written (the
    certificate records how many were sought, not which)."""
    sampled = sealed.values_opened(ChildName.objects.order_by("?"), limit=NEEDLE_SAMPLE)
    names = {row["family_name"] or "" for row in sampled} | {
        row["family_name"] or ""
        for row in sealed.values_opened(
            SourceRecord.objects.order_by("?"), "family_name", limit=NEEDLE_SAMPLE
        )
    }
    numbers = {
        row["value"]
        for row in sealed.values_opened(
            ChildIdentifier.objects.filter(scheme="nhs_number").order_by("?"), limit=NEEDLE_SAMPLE
        )
    }
    return sorted({n for n in names if len(n) >= 4} | numbers)


def proof_nothing_readable(needles: list[str]) -> Proof:
    """Every table of the database, read whole, holds none of the values, and every model that
    held child data is empty."""
    remaining = {m._meta.label: m._default_manager.count() for m in _child_data_models()}
    remaining["retention.ChildDataKey"] = ChildDataKey.objects.count()
    remaining["feeds.LoadKey"] = LoadKey.objects.count()
    remaining["linkage.IndexKey"] = IndexKey.objects.count()
    found: list[str] = []
    tables = rows = 0
    pattern = re.compile("|".join(re.escape(n) for n in needles), re.IGNORECASE) if needles else None
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            tables += 1
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (introspected names)
            while batch := cursor.fetchmany(5000):
                rows += len(batch)
                if pattern is None:
                    continue
                for row in batch:
                    hit = pattern.search(" | ".join(str(value) for value in row))
                    if hit:
                        found.append(f"{table}: {hit.group(0)}")
    return Proof(tables, rows, len(needles), found, remaining)


def _child_data_models() -> list[Any]:
    labels = {model for model, _ in policy.child_data_relations(models_holding_child_data())}
    return [apps.get_model(label) for label in sorted(labels)]


def access_end(*, now: datetime.datetime) -> dict[str, int]:
    """No one can act any more: every account suspended, every token revoked, every session ended."""
    ended = {
        "profiles_suspended": Profile.objects.filter(suspended_at__isnull=True).update(
            suspended_at=now, suspension_reason="ContactPoint decommissioned"
        ),
        "users_deactivated": get_user_model().objects.filter(is_active=True).update(is_active=False),
        "api_tokens_revoked": ApiToken.objects.filter(revoked_at__isnull=True).update(revoked_at=now),
        "sessions_ended": Session.objects.all().delete()[0],
    }
    audit_record(
        event_type=EventType.ADMIN, username=SYSTEM, reason="Decommissioning: access ended", details=ended
    )
    return ended


def everything_destroy() -> tuple[Counter[str], list[str]]:
    """Destroy every child (rule by rule, as retention does), then what no child owns any more:
    unlinked and quarantined feed rows, data-quality reports, practitioners' contact details."""
    key_ids = sorted(
        [
            *ChildDataKey.objects.values_list("key_id", flat=True),
            *LoadKey.objects.values_list("key_id", flat=True),
        ]
    )
    rows: Counter[str] = Counter()
    pks = set(Child.objects.values_list("pk", flat=True))
    if pks:
        rows.update(children_destroy(child_pks=pks))
    for queryset in (
        QuarantinedRow.objects.all(),
        DataQualityWarning.objects.all(),
        SourceRecord.objects.all(),
        Practitioner.objects.all(),
        Destruction.objects.all(),  # the per-child ledger: the certificate's counts replace it
        ChildDataKey.objects.all(),
        LoadKey.objects.all(),  # what sealed feed rows not yet linked
        IndexKey.objects.all(),  # what blinded the (now empty) candidate index, in backups too
    ):
        _, per_model = queryset.delete()
        rows.update({label: n for label, n in per_model.items() if n})
    FeedFile.objects.update(report={})  # load reports name columns and counts; cleared for good measure
    return +rows, key_ids


def decommission(
    *, ends_at: datetime.datetime, certificate_dir: Path, now: datetime.datetime | None = None
) -> Path:
    """Run the whole runbook and write the certificate; refuses (NotYet) before `ends_at`."""
    now = now or timezone.now()
    if now < ends_at:
        raise NotYet(f"Access ends at {ends_at.isoformat()}; it is {now.isoformat()}. Run this again then.")
    needles = _needles()
    with transaction.atomic():
        ended = access_end(now=now)
        rows, key_ids = everything_destroy()
        criteria_keys = criteria_keys_destroy()
        audit_record(
            event_type=EventType.ADMIN,
            username=SYSTEM,
            reason="Decommissioning: all child data and data keys destroyed",
            details={
                "rows": dict(rows),
                "data_keys_destroyed": len(key_ids),
                "search_criteria_keys_destroyed": criteria_keys,
            },
        )
    while chain_seal(grace=datetime.timedelta(0)):
        pass
    head = AuditCheckpoint.objects.order_by("-position").first()
    proof = proof_nothing_readable(needles)
    body: dict[str, Any] = {
        "certificate": "ContactPoint certificate of destruction",
        "access_ended_at": ends_at.isoformat(),
        "destroyed_at": now.isoformat(),
        "completed_at": timezone.now().isoformat(),
        "access": ended,
        "rows_destroyed": dict(sorted(rows.items())),
        "data_keys_destroyed": {"count": len(key_ids), "key_ids": key_ids},
        "search_criteria_keys_destroyed": criteria_keys,
        "audit_chain_head": {
            "position": head.position if head else 0,
            "entry_hash": head.entry_hash if head else "",
            "checkpoint_signature": head.signature if head else "",
            "key_id": head.key_id if head else "",
        },
        "proof": {
            "tables_scanned": proof.tables_scanned,
            "rows_scanned": proof.rows_scanned,
            "identifying_values_sought": proof.values_sought,
            "identifying_values_found": len(proof.outside_audit_log),
            "search_terms_in_audit_log": len(proof.found) - len(proof.outside_audit_log),
            "rows_remaining_in_child_data_models": sum(proof.remaining.values()),
            "clean": proof.clean,
        },
    }
    certificate = {**body, "signature": {"key_id": keys.key_id(), "hmac_sha256": keys.sign(_canonical(body))}}
    certificate_dir.mkdir(parents=True, exist_ok=True)
    path = certificate_dir / f"certificate-of-destruction-{now:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(certificate, indent=2) + "\n")
    return path


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def certificate_verify(path: Path) -> list[str]:
    """What is wrong with a certificate (empty: its signature holds and its proof is clean)."""
    try:
        certificate = json.loads(path.read_text())
        signature = certificate.pop("signature")
        expected = keys.signed_by(signature["key_id"], _canonical(certificate))
    except (OSError, ValueError, KeyError, TypeError, keys.UnknownKey) as problem:
        return [f"The certificate cannot be read or checked: {problem!r}"]
    problems = []
    if expected != signature["hmac_sha256"]:
        problems.append("The signature does not match the certificate's content.")
    if not certificate.get("proof", {}).get("clean"):
        problems.append("The certificate's proof found identifying data left.")
    return problems
