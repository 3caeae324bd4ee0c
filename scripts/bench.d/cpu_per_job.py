#!/usr/bin/env python3
"""CPU time per job of each process of the generation bench: user + system ticks from
/proc/PID/stat read before and after the run (`snapshot`), the difference divided by the jobs.
PostgreSQL's processes (one per connection, all kept open by the pools) are summed as one.
A figure that, unlike jobs/s, does not move with the machine's steal time.

Usage: cpu_per_job.py snapshot NAME=PID... > FILE      (postgres processes are found by name)
       cpu_per_job.py table BEFORE AFTER JOBS          (a Markdown table)
"""
import os
import sys

TICKS = os.sysconf("SC_CLK_TCK")


def ticks(pid):
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, IndexError, ValueError):
        return None


def snapshot(pairs):
    for pair in pairs:
        name, pid = pair.split("=")
        if (t := ticks(pid)) is not None:
            print(name, pid, t)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if open(f"/proc/{pid}/comm").read().strip() == "postgres" and (t := ticks(pid)) is not None:
                print("PostgreSQL", pid, t)
        except OSError:
            pass


def table(before_file, after_file, jobs):
    def load(path):
        return {(name, pid): int(t) for name, pid, t in (line.split() for line in open(path) if line.strip())}
    before, after = load(before_file), load(after_file)
    per = {}
    for (name, pid), t in after.items():
        per[name] = per.get(name, 0) + t - before.get((name, pid), 0)
    total = sum(per.values())
    print("| process | CPU ms a job |")
    print("|---|---:|")
    for name, t in sorted(per.items(), key=lambda item: -item[1]):
        print(f"| {name} | {1000 * t / TICKS / jobs:.2f} |")
    print(f"| all of them | {1000 * total / TICKS / jobs:.2f} |")


if __name__ == "__main__":
    if sys.argv[1] == "snapshot":
        snapshot(sys.argv[2:])
    else:
        table(sys.argv[2], sys.argv[3], int(sys.argv[4]))
