from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from contactpoint.access.actors import Actor
from contactpoint.access.services import shield_add
from contactpoint.records.models import Child


class Command(BaseCommand):
    help = "Shield a child (by ContactPoint ID) as the given user, who must be allowed to."

    def add_arguments(self, parser):
        parser.add_argument("child_id", help="The child's ContactPoint ID.")
        parser.add_argument("--by", required=True, help="Username of the authority's team member.")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, child_id, by, reason, **options):
        child = Child.objects.filter(contactpoint_id=child_id.strip().upper()).first()
        if child is None:
            raise CommandError(f"No child has ContactPoint ID {child_id!r}.")
        user = get_user_model().objects.filter(username=by).first()
        if user is None:
            raise CommandError(f"No user is called {by!r}.")
        try:
            shield = shield_add(child=child, actor=Actor.for_user(user), reason=reason)
        except (PermissionDenied, ValidationError) as exc:
            message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            raise CommandError(f"Refused: {message}") from exc
        authority, due = shield.local_authority.name, f"{shield.review_due:%d %B %Y}"
        self.stdout.write(f"{child.contactpoint_id} shielded by {authority}; review due {due}.")
