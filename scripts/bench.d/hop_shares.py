#!/usr/bin/env python3
"""CPU shares by hop from a system-wide `perf record`: each named process (name=pid, the five
`atelier serve` processes), PostgreSQL, the load generator and everything else, as percentages
of the busy CPU (idle left out). Samples are counted per process (`perf script -F pid,comm`:
the pid there is the process, not the thread), each sample the same slice of time.

    python3 hop_shares.py PERF_DATA auth=123 catalog=124 ...
"""
import subprocess
import sys
from collections import Counter


def main():
    data, named = sys.argv[1], {pid: name for name, pid in (arg.split("=", 1) for arg in sys.argv[2:])}
    script = subprocess.run(["perf", "script", "-i", data, "-F", "pid,comm"], capture_output=True, text=True, check=True).stdout
    samples = Counter()
    for line in script.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        comm, pid = " ".join(fields[:-1]), fields[-1]
        if pid == "0":
            continue  # idle
        if pid in named:
            samples[f"{named[pid]} service"] += 1
        elif comm.startswith("postgres"):
            samples["PostgreSQL server"] += 1
        elif comm.startswith("python"):
            samples["load generator (python submitters)"] += 1
        else:
            samples["other (perf, kernel threads, shell)"] += 1
    busy = sum(samples.values()) or 1
    for name, count in samples.most_common():
        print(f"{name}\t{100 * count / busy:.1f}")


if __name__ == "__main__":
    main()
