"""What the sealed record tables cost per child and per row, in CPU time (docs/adr/0010).

Run:  .venv/bin/python bench/sealed_rows.py [--children 20000]
Times records.sealed as the code uses it, without a database: unwrapping a child's data key and
building its cipher, sealing and opening a name row (given, middle and family names as one blob)
and a birth-date row. CPU time of this process, so a busy machine does not inflate it.
"""

import argparse
import datetime
import os
import secrets
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings.test")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=20000)
    n = parser.parse_args().children
    import django

    django.setup()
    from contactpoint.records import sealed
    from contactpoint.records.models import ChildBirthDate, ChildName
    from contactpoint.retention import crypto

    wrapped = [crypto.key_wrap(secrets.token_bytes(32), key_id=f"k{i}") for i in range(n)]
    name = {"given_name": "Amelia", "middle_names": "Rose", "family_name": "Khan"}
    born = {"date_of_birth": datetime.date(2015, 3, 14)}

    def per_item(work) -> float:
        started = time.process_time()
        result = work()
        per_item.result = result  # type: ignore[attr-defined]
        return (time.process_time() - started) / n * 1e6

    unwrap = per_item(
        lambda: [
            crypto.cipher(crypto.key_unwrap(w, key_id=f"k{i}", kek_id=k)) for i, (w, k) in enumerate(wrapped)
        ]
    )
    ciphers = per_item.result  # type: ignore[attr-defined]
    seal_name = per_item(lambda: [sealed.seal(ciphers[i], ChildName, i, name) for i in range(n)])
    blobs = per_item.result  # type: ignore[attr-defined]
    open_name = per_item(lambda: [sealed._open(ciphers[i], ChildName, i, blobs[i]) for i in range(n)])
    seal_born = per_item(lambda: [sealed.seal(ciphers[i], ChildBirthDate, i, born) for i in range(n)])
    blobs = per_item.result  # type: ignore[attr-defined]
    open_born = per_item(lambda: [sealed._open(ciphers[i], ChildBirthDate, i, blobs[i]) for i in range(n)])
    print(
        f"{n} children, CPU µs: unwrap + cipher {unwrap:.1f} a child; name row seal {seal_name:.1f},"
        f" open {open_name:.1f}; birth-date row seal {seal_born:.1f}, open {open_born:.1f}"
    )


if __name__ == "__main__":
    main()
