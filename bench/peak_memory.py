"""A command's peak memory with all its processes: the sum of their RSS and of their PSS.

Run:  .venv/bin/python bench/peak_memory.py -- COMMAND [ARGS...]

`/usr/bin/time -v` reports the largest single process, and forked workers that share the
parent's pages copy-on-write count them once each in RSS. PSS splits each shared page between
the processes that map it, so the PSS sum is what the command as a whole holds. Both sums are
sampled every half second from /proc (Linux only) over the command and its descendants.
"""

import subprocess
import sys
import time
from pathlib import Path


def descendants(root: int) -> list[int]:
    """The root and every process below it, from each process's parent in /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(parents.get(pid, ()))
    return found


def held(pids: list[int]) -> tuple[int, int]:
    """The RSS and PSS sums in kB (a process gone meanwhile counts nothing)."""
    rss = pss = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            name, _, value = line.partition(":")
            if name == "Rss":
                rss += int(value.split()[0])
            elif name == "Pss":
                pss += int(value.split()[0])
    return rss, pss


def main() -> int:
    command = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]
    if not command:
        sys.exit("usage: peak_memory.py -- COMMAND [ARGS...]")
    started = time.perf_counter()
    process = subprocess.Popen(command)
    peak_rss = peak_pss = 0
    while process.poll() is None:
        rss, pss = held(descendants(process.pid))
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.5)
    print(
        f"peak memory: PSS sum {peak_pss / 1024**2:.2f} GiB, RSS sum {peak_rss / 1024**2:.2f} GiB;"
        f" {time.perf_counter() - started:.0f} s; exit {process.returncode}",
        file=sys.stderr,
        flush=True,
    )
    return process.returncode


if __name__ == "__main__":
    sys.exit(main())
