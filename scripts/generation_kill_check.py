#!/usr/bin/env python3
"""A generation process killed mid-job (SIGKILL) and started again: the five `atelier serve`
processes, configured by environment as compose runs them, on SQLite (each service its own file
in one data directory) or PostgreSQL. A user asks for two images from a provider that takes 1.5 s
each; while the job runs the generation process is killed. Started again, it finds the job's
lease lapsed, runs it again, and the job ends succeeded on its second attempt with exactly two
pictures in the gallery and two units spent once. (A job run twice after its pictures were
attached is `LeaseRescueTests`' case: attachments are keyed by the job.)

Usage: generation_kill_check.py --atelier .build/debug/atelier --work DIR [--postgres URL]
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rest(edge, method, path, body=None, token=None):
    request = urllib.request.Request(edge + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_until(what, check, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    sys.exit(f"timed out waiting for {what}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--atelier", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    backend = "postgres" if args.postgres else "sqlite"
    data = os.path.join(args.work, f"kill-{backend}")
    os.makedirs(data, exist_ok=True)
    keys = dict(line.split("=", 1) for line in subprocess.check_output([args.atelier, "keys"], text=True).split())
    ports = {name: free_port() for name in ["auth", "catalog", "generation", "commerce", "edge"]}
    env = dict(os.environ, **keys, ATELIER_DATA_DIR=data, ATELIER_AUTH_SCRYPT_LOG_N="12", ATELIER_EDGE_RATE_LIMITS="false",
               **{f"ATELIER_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    if args.postgres:
        env.update(ATELIER_DATABASE_URL=args.postgres, ATELIER_DATABASE_SCHEMA_PREFIX="kill_")
    processes = {}

    def start(service, extra=None):
        log = open(os.path.join(data, f"{service}.log"), "a")
        processes[service] = subprocess.Popen([args.atelier, "serve", service], env=dict(env, **(extra or {})), stdout=log, stderr=log)

    def probe(service):
        return subprocess.run([args.atelier, "probe", "--grpc", f"127.0.0.1:{ports[service]}"], capture_output=True).returncode == 0

    try:
        start("auth")
        wait_until("auth", lambda: probe("auth"))
        credential = subprocess.check_output([args.atelier, "credential", "--name", "generation", "--roles", "generation",
                                              "--data-dir", data], env=env, text=True, stderr=subprocess.DEVNULL).strip()
        generation_env = {"ATELIER_GENERATION_CREDENTIAL": credential, "ATELIER_GENERATION_LOCAL_DELAY_MS": "1500",
                          "ATELIER_GENERATION_LEASE_SECONDS": "3", "ATELIER_GENERATION_WORKERS": "1"}
        for service in ["catalog", "commerce", "edge"]:
            start(service)
        start("generation", generation_env)
        edge = f"http://127.0.0.1:{ports['edge']}"

        def ready():
            try:
                with urllib.request.urlopen(edge + "/readyz", timeout=5) as reply:
                    return reply.status == 200
            except OSError:
                return False
        wait_until("every service ready", ready)

        status, signup = rest(edge, "POST", "/api/auth/signup", {"email": f"kill-{backend}-{int(time.time())}@example.com", "password": "Quiet-River-42"})
        assert status == 201, signup
        token = signup["session"]["token"]
        status, created = rest(edge, "POST", "/api/characters", {"name": "Nell", "hairColor": "red"}, token)
        assert status == 201, created
        character = created["character"]["id"]
        status, submitted = rest(edge, "POST", "/api/generate/image", {"characterId": character, "count": 2}, token)
        assert status == 202, submitted
        job = submitted["job"]["id"]

        def running():
            status, reply = rest(edge, "GET", f"/api/jobs/{job}", token=token)
            return reply["job"] if status == 200 and reply["job"]["status"] == "running" else None
        mid = wait_until("the job to run", running)
        # Half way through the first picture.
        time.sleep(0.75)
        processes["generation"].send_signal(signal.SIGKILL)
        processes["generation"].wait()
        print(f"killed generation with the job running (attempt {mid['attempts']})")

        start("generation", generation_env)

        def ended():
            status, reply = rest(edge, "GET", f"/api/jobs/{job}", token=token)
            return reply["job"] if status == 200 and reply["job"]["status"] in ("succeeded", "failed", "canceled") else None
        done = wait_until("the job to end after the restart", ended, seconds=90)
        assert done["status"] == "succeeded", done
        assert done["attempts"] == 2, f"the second attempt finished it: {done}"
        assert done["charge"] == "settled", done
        _, gallery = rest(edge, "GET", f"/api/media?characterId={character}", token=token)
        media = gallery.get("media", [])
        assert len(media) == 2, f"attached once: {len(media)} pictures"
        assert sorted(m["id"] for m in media) == sorted(done["mediaIds"]), (media, done)
        _, wallet = rest(edge, "GET", "/api/wallet", token=token)
        images = next(b for b in wallet["balances"] if b["asset"] == "images")
        assert images["available"] == 1 and wallet["credits"] == 3, f"two units spent once: {wallet}"
        print(f"ok ({backend}): rescued after the kill, succeeded on attempt 2, 2 pictures, 2 units spent once")
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
