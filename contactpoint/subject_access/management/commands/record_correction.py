from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from contactpoint.access.actors import Actor
from contactpoint.records.selectors import child_by_contactpoint_id
from contactpoint.subject_access.services import rectification_record


class Command(BaseCommand):
    help = "Records a correction someone asked for to one source's value, and owes the source a notice."

    def add_arguments(self, parser):
        parser.add_argument("contactpoint_id")
        parser.add_argument("--by", required=True, help="The recording user (a local authority team member).")
        parser.add_argument("--source", required=True, help="The source code whose value is wrong.")
        parser.add_argument("--source-record-id", required=True)
        parser.add_argument("--item", required=True, help="The statutory item, e.g. ChildName.")
        parser.add_argument("--field", required=True, help="The field, e.g. given_name.")
        parser.add_argument("--value", required=True, help="The corrected value.")
        parser.add_argument("--requested-by", required=True, help="Who asked for the correction.")

    def handle(self, *args, **o):
        user = get_user_model().objects.filter(username=o["by"]).first()
        child = child_by_contactpoint_id(contactpoint_id=o["contactpoint_id"])
        if user is None or child is None:
            raise CommandError("No such user." if user is None else "No child has that ContactPoint ID.")
        try:
            rectification = rectification_record(
                actor=Actor.for_user(user),
                child=child,
                item=o["item"],
                field=o["field"],
                source_code=o["source"],
                source_record_id=o["source_record_id"],
                corrected_value=o["value"],
                requested_by=o["requested_by"],
            )
        except (PermissionDenied, ValidationError) as refused:
            raise CommandError(" ".join(getattr(refused, "messages", [str(refused)]))) from None
        self.stdout.write(
            f"Recorded correction {rectification.pk}: {rectification.item}.{rectification.field} "
            f"{rectification.current_value!r} -> {rectification.corrected_value!r}; "
            f"{o['source']} will be notified."
        )
