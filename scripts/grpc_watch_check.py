#!/usr/bin/env python3
"""WatchJob from a gRPC client built from proto/ alone (grpcio + grpcio-tools). Against a running
`atelier dev`: signs up and asks for two images over REST, then watches the job over gRPC as a
back-office caller (a credential with the role "edge"): the events arrive numbered 1, 2, 3... and
the stream ends after the job's last one, "succeeded"; watching again from an event number gets
only what follows; a watch without a credential is refused.

Usage: grpc_watch_check.py --edge http://127.0.0.1:8080 --generation 127.0.0.1:8083 --credential TOKEN
"""
import argparse
import importlib
import json
import pathlib
import sys
import tempfile
import urllib.request

import grpc
from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parent.parent
# generation.proto uses the catalog's Story in its story replies, so stories.proto comes too.
PROTOS = ["atelier/generation/v1/generation.proto", "atelier/catalog/v1/stories.proto", "atelier/api/v1/options.proto",
          "atelier/api/v1/pagination.proto",
          "google/api/annotations.proto", "google/api/http.proto"]


def generate(out: pathlib.Path):
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    code = protoc.main(["grpc_tools.protoc", f"-I{ROOT / 'proto'}", f"-I{include}",
                        f"--python_out={out}", f"--grpc_python_out={out}", *PROTOS])
    if code != 0:
        sys.exit(f"protoc failed with {code}")
    sys.path.insert(0, str(out))


def rest(edge, method, path, body=None, token=None):
    request = urllib.request.Request(edge + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.load(reply)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--edge", required=True)
    parser.add_argument("--generation", required=True)
    parser.add_argument("--credential", required=True)
    args = parser.parse_args()

    out = pathlib.Path(tempfile.mkdtemp(prefix="atelier-py-watch-"))
    generate(out)
    pb2 = importlib.import_module("atelier.generation.v1.generation_pb2")
    pb2_grpc = importlib.import_module("atelier.generation.v1.generation_pb2_grpc")

    signup = rest(args.edge, "POST", "/api/auth/signup", {"email": "watcher@example.com", "password": "Quiet-River-42"})
    token, user = signup["session"]["token"], signup["user"]["id"]
    character = rest(args.edge, "POST", "/api/characters", {"name": "Wren", "hairColor": "black"}, token)["character"]["id"]
    job = rest(args.edge, "POST", "/api/generate/image", {"characterId": character, "count": 2}, token)["job"]["id"]

    channel = grpc.insecure_channel(args.generation)
    stub = pb2_grpc.GenerationServiceStub(channel)
    credential = (("x-atelier-principal", args.credential),)
    events = list(stub.WatchJob(pb2.WatchJobRequest(job_id=job, user_id=user), metadata=credential, timeout=60))
    sequences = [event.sequence for event in events]
    assert sequences == list(range(1, len(events) + 1)), sequences
    assert events[0].type == "queued" and events[-1].status == "succeeded", [(e.type, e.status) for e in events]
    print(f"ok: WatchJob streamed {len(events)} events, {events[0].type} to {events[-1].status}")

    later = list(stub.WatchJob(pb2.WatchJobRequest(job_id=job, user_id=user, after_sequence=len(events) - 1),
                               metadata=credential, timeout=30))
    assert [event.sequence for event in later] == [len(events)], [event.sequence for event in later]
    print("ok: after_sequence resumes after the event named")

    try:
        list(stub.WatchJob(pb2.WatchJobRequest(job_id=job, user_id=user), timeout=10))
        sys.exit("a watch without a credential was answered")
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error.code()
    print("ok: a watch without a credential is UNAUTHENTICATED")


if __name__ == "__main__":
    main()
