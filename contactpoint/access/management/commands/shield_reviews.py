import datetime

from django.core.management.base import BaseCommand, CommandError

from contactpoint.access.selectors import shields_due
from contactpoint.access.services import shield_review_notify


class Command(BaseCommand):
    help = (
        "List shields whose review is overdue or falls due soon, and e-mail each shielding authority's "
        "team once per review date. Safe to run daily: a second run lists the same shields and sends nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--within-days",
            type=int,
            default=14,
            help="Also list reviews due in this many days (default 14).",
        )
        parser.add_argument("--today", help="Treat this date (YYYY-MM-DD) as today.")
        parser.add_argument("--no-mail", action="store_true", help="Only list; tell nobody.")

    def handle(self, *args, within_days, today, no_mail, **options):
        if within_days < 0:
            raise CommandError("--within-days cannot be negative.")
        try:
            day = datetime.date.fromisoformat(today) if today else datetime.date.today()
        except ValueError as exc:
            raise CommandError(f"--today must be a date like 2026-03-31, not {today!r}.") from exc
        due = list(shields_due(today=day, within_days=within_days))
        overdue = sum(1 for shield in due if shield.review_due < day)
        for shield in due:
            state = "OVERDUE" if shield.review_due < day else "due"
            told = "" if no_mail else self._notify(shield)
            self.stdout.write(
                f"{shield.child.contactpoint_id}\t{shield.local_authority.code}\t{state}\t"
                f"{shield.review_due.isoformat()}{told}"
            )
        self.stdout.write(f"{len(due)} shield(s) to review, {overdue} overdue.")

    def _notify(self, shield) -> str:
        already = shield.review_notified_for == shield.review_due
        told = shield_review_notify(shield=shield)
        if told:
            return f"\tteam e-mailed ({len(told)})"
        return "\tteam already told" if already else "\tteam NOT told (no address, or mail failed)"
