"""How fast the synthetic population generator writes feeds, and whether it scales linearly.

Run:  .venv/bin/python bench/synth.py [--sizes 100000,1000000]
Prints children per second at each size and the ratio of the largest to the smallest rate
(1.0 means perfectly linear), measured in one run so machine noise affects all sizes alike.
"""

import argparse
import datetime
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings.test")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--seed", type=int, default=2009)
    args = parser.parse_args()
    import django

    django.setup()
    from contactpoint.synthetic.feeds import write_population

    sizes = [int(s) for s in args.sizes.split(",")]
    rates = {}
    for size in sizes:
        out = Path(tempfile.mkdtemp(prefix=f"synth-{size}-"))
        started = time.perf_counter()
        manifest = write_population(children=size, seed=args.seed, out=out, as_of=datetime.date(2026, 10, 1))
        elapsed = time.perf_counter() - started
        megabytes = sum(p.stat().st_size for p in out.iterdir()) / 1e6
        shutil.rmtree(out)
        rates[size] = size / elapsed
        rows = sum(manifest["rows"].values())
        print(
            f"{size:>9} children  {rows:>9} feed rows  {elapsed:7.1f} s  "
            f"{rates[size]:8.0f} children/s  {megabytes:7.0f} MB"
        )
    if len(sizes) > 1:
        print(f"rate ratio {max(sizes)}/{min(sizes)}: {rates[max(sizes)] / rates[min(sizes)]:.2f}")
    print(f"reproduce: {sys.executable} bench/synth.py --sizes {args.sizes}")


if __name__ == "__main__":
    main()
