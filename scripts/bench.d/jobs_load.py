#!/usr/bin/env python3
"""Submitters for the generation bench: each thread signs in as its own user (a token and a
character per line of USERS: `token character`) and submits JOBS image jobs (count 1) through
the edge one after another, or as many as it can in SECONDS when that is given (so the jobs run
as long as the pairs they are compared with, not a fixed number that a faster build finishes in a
few seconds, ramp-up and drain weighing more). Prints how many were accepted and how many refused. Whether they
have ended, and the job rate (first created to last finished), the bench reads from the
database, so no polling of ours loads the services while they work.

Usage: jobs_load.py EDGE_URL USERS_FILE JOBS_PER_SUBMITTER [SECONDS]
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse


def main():
    edge, users_file, per = sys.argv[1], sys.argv[2], int(sys.argv[3])
    deadline = time.monotonic() + float(sys.argv[4]) if len(sys.argv) > 4 else None
    users = [line.split() for line in open(users_file).read().splitlines() if line.strip()]
    host = urllib.parse.urlparse(edge)
    submitted = {}
    lock = threading.Lock()
    failures = []

    def submit(token, character):
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        ids = []
        for _ in range(per):
            if deadline is not None and time.monotonic() >= deadline:
                break
            connection.request("POST", "/api/generate/image", json.dumps({"characterId": character, "count": 1}),
                               {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
            reply = connection.getresponse()
            body = json.loads(reply.read())
            if reply.status != 202:
                failures.append((reply.status, body))
                continue
            ids.append(body["job"]["id"])
        with lock:
            submitted[token] = ids

    threads = [threading.Thread(target=submit, args=(token, character)) for token, character in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = sum(len(ids) for ids in submitted.values())
    print(total, len(failures))
    if failures:
        print("refused submits:", failures[:3], file=sys.stderr)


if __name__ == "__main__":
    main()
