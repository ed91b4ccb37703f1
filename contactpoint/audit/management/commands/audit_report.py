import os
import tempfile
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from contactpoint.access.actors import Actor
from contactpoint.audit.reports import REPORTS, report_csv_write, report_request
from contactpoint.audit.selectors import EVERYWHERE, audit_scope_for


class Command(BaseCommand):
    help = (
        "Export an audit report as CSV: access_history and searches_returning need --child, "
        "user_activity needs --user. The export is itself audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(REPORTS))
        parser.add_argument("--child", default="", help="The child's ContactPoint ID.")
        parser.add_argument("--user", default="", help="The username whose activity to report.")
        parser.add_argument("--since", default="", help="From this date (YYYY-MM-DD) or date-time.")
        parser.add_argument("--until", default="", help="Up to the end of this date, or this date-time.")
        parser.add_argument("--out", required=True, help="The CSV file to write.")
        parser.add_argument(
            "--by",
            default="",
            help="Export as this user, within what their role may read (default: the operator, everything).",
        )

    def handle(self, *args, kind, child, user, since, until, out, by, **options):
        try:
            request = report_request(kind=kind, child_id=child, username=user, since=since, until=until)
            actor = self._actor(by) if by else None
            scope = audit_scope_for(actor) if actor else EVERYWHERE
        except (ValidationError, PermissionDenied) as exc:
            message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            raise CommandError(message) from exc
        target = Path(out)
        if not target.parent.is_dir():
            raise CommandError(f"The folder {target.parent} does not exist.")
        # Written beside the target and renamed into place: a failed export leaves no partial file.
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
                rows = report_csv_write(
                    request=request,
                    scope=scope,
                    out=stream,
                    actor=actor,
                    username="" if actor else "operator",
                )
            os.replace(partial, target)
        finally:
            Path(partial).unlink(missing_ok=True)
        self.stdout.write(f"{rows} events written to {target} ({request.kind.title}).")

    def _actor(self, username: str) -> Actor:
        account = get_user_model().objects.filter(username=username).first()
        if account is None:
            raise ValidationError(f"No user is called {username!r}.")
        return Actor.for_user(account)
