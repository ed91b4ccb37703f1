"""What decrypting a child's identifying values would cost search and linkage (docs/adr/0010).

Run:  .venv/bin/python bench/retention_crypto.py [--candidates 60] [--records 1000000] [--rounds 5]
Times, with the project's own envelope code (contactpoint.retention.crypto, AES-256-GCM):
1. unwrapping one child's data key with the key-encryption key, and opening one sealed value;
2. a search's worth: --candidates children, two source records each, eight identifying fields a
   record, each child's key unwrapped once, in three layouts: a sealed value per field with a new
   cipher per value, the same reusing one cipher per child, and one sealed blob per record;
3. linkage's bulk read in the blob-per-record layout: values a second in one process, and the
   projected time for --records records.
Nothing touches a database: these are the cryptographic costs alone, the floor of any design.
"""

import argparse
import json
import os
import secrets
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings.test")
SAMPLE = {
    "given": "Amelia",
    "middle": "Rose",
    "family": "Khan",
    "dob": "2015-03-14",
    "postcode": "LS6 2AB",
    "address": "12 Oak Road",
    "nhs": "9434765919",
    "upn": "A123456789012",
}
FIELDS = tuple(SAMPLE)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidates", type=int, default=60)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from contactpoint.retention import crypto
    from contactpoint.retention.models import ChildDataKey

    ring = crypto.kek_ring()
    children = max(args.candidates, 2000)
    keys = []
    for n in range(children):
        row = ChildDataKey(key_id=f"bench-{n}", kek_id=ring.wrapping_id)
        row.wrapped = crypto._wrap(secrets.token_bytes(32), row.key_id, ring.wrapping_id)
        keys.append(row)
    fields, blobs = [], []
    for n, row in enumerate(keys):
        key = crypto._unwrap(row)
        fields.append(
            [{f: crypto.value_seal(key, SAMPLE[f], context=f"{f}:{n}:{r}") for f in FIELDS} for r in (0, 1)]
        )
        blobs.append([crypto.value_seal(key, json.dumps(SAMPLE), context=f"record:{n}:{r}") for r in (0, 1)])

    def per_field(count: int, reuse: bool) -> int:
        opened = 0
        for i in range(count):
            n = i % children
            key = crypto._unwrap(keys[n])
            aead = crypto.cipher(key) if reuse else key
            for r, record in enumerate(fields[n]):
                for f in FIELDS:
                    crypto.value_open(aead, record[f], context=f"{f}:{n}:{r}")
                    opened += 1
        return opened

    def per_record(count: int) -> int:
        opened = 0
        for i in range(count):
            n = i % children
            aead = crypto.cipher(crypto._unwrap(keys[n]))
            for r, blob in enumerate(blobs[n]):
                opened += len(json.loads(crypto.value_open(aead, blob, context=f"record:{n}:{r}")))
        return opened

    reps = 20_000
    start = time.perf_counter()
    for n in range(reps):
        crypto._unwrap(keys[n % children])
    unwrap_us = (time.perf_counter() - start) / reps * 1e6
    aead0 = crypto.cipher(crypto._unwrap(keys[0]))
    start = time.perf_counter()
    for _ in range(reps):
        crypto.value_open(aead0, fields[0][0]["family"], context="family:0:0")
    open_us = (time.perf_counter() - start) / reps * 1e6

    def timed(run) -> tuple[float, float]:
        samples = []
        for _ in range(args.rounds * 20):
            start = time.perf_counter()
            run()
            samples.append((time.perf_counter() - start) * 1000)
        samples.sort()
        return statistics.median(samples), samples[int(len(samples) * 0.95)]

    layouts = {
        "value per field, new cipher per value": lambda: per_field(args.candidates, reuse=False),
        "value per field, one cipher per child": lambda: per_field(args.candidates, reuse=True),
        "one blob per record": lambda: per_record(args.candidates),
    }
    searched = {name: timed(run) for name, run in layouts.items()}

    sample_children = min(args.records // 2, 100_000)
    start = time.perf_counter()
    values = per_record(sample_children)
    per_second = values / (time.perf_counter() - start)

    print(f"command: .venv/bin/python {' '.join(sys.argv)}")
    print(f"unwrap one data key: {unwrap_us:.2f} µs; open one sealed value (cipher reused): {open_us:.2f} µs")
    print(
        f"search, {args.candidates} candidates x 2 records x {len(FIELDS)} fields "
        "(today's whole search ~12 ms):"
    )
    for name, (median, p95) in searched.items():
        print(f"  {name:40s} median {median:6.2f} ms  p95 {p95:6.2f} ms")
    print(
        f"linkage bulk, one blob per record: {per_second:,.0f} values/s in one process; "
        f"{args.records:,} records would take {args.records * len(FIELDS) / per_second:.1f} s"
    )


if __name__ == "__main__":
    main()
