from django.core.management.base import BaseCommand

from contactpoint.audit.criteria import criteria_keys_rewrap
from contactpoint.feeds.sealed import keys_rewrap as feed_row_keys_rewrap
from contactpoint.linkage.blind import index_keys_rewrap
from contactpoint.retention.crypto import data_keys_by_kek, data_keys_rewrap, kek_ring


class Command(BaseCommand):
    help = "Rewraps every child's data key with the newest key-encryption key (after adding one)."

    def handle(self, *args, **options):
        newest = kek_ring().wrapping_id
        done = data_keys_rewrap()
        criteria = criteria_keys_rewrap()
        index = index_keys_rewrap()
        rows = feed_row_keys_rewrap()
        self.stdout.write(
            f"Rewrapped {done} data key(s), {criteria} audit search-criteria key(s), {index} "
            f"candidate index key(s) and {rows} quarantined row and warning key(s) "
            f"with key-encryption key {newest}."
        )
        for kek_id, count in sorted(data_keys_by_kek().items()):
            self.stdout.write(f"{kek_id}\t{count}")
        stale = sum(n for kek_id, n in data_keys_by_kek().items() if kek_id != newest)
        self.stdout.write(
            "No key depends on an older key-encryption key: they may be retired."
            if not stale
            else f"{stale} key(s) still depend on older key-encryption keys."
        )
