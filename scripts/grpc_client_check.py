#!/usr/bin/env python3
"""A gRPC client built from proto/ alone (grpcio + grpcio-tools), as a back-office caller in
another language would build one. Against a running `atelier dev`, it signs up, logs in and
validates the session, checks that a call without a credential is refused, and reads the
standard google.rpc.Status details of errors (grpcio-status): ErrorInfo's reason, BadRequest's field.

Usage: grpc_client_check.py --auth 127.0.0.1:8081 --credential "$(atelier credential --name check --roles edge)"
"""
import argparse
import importlib
import pathlib
import sys
import tempfile
import uuid

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTOS = ["atelier/auth/v1/auth.proto", "atelier/api/v1/options.proto",
          "google/api/annotations.proto", "google/api/http.proto", "grpc/health/v1/health.proto"]


def generate(out: pathlib.Path):
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    code = protoc.main(["grpc_tools.protoc", f"-I{ROOT / 'proto'}", f"-I{include}",
                        f"--python_out={out}", f"--grpc_python_out={out}", *PROTOS])
    if code != 0:
        sys.exit(f"protoc failed with {code}")
    sys.path.insert(0, str(out))


def details(error):
    """The reason of the error's ErrorInfo and the field of its BadRequest, from grpc-status-details-bin."""
    status = rpc_status.from_call(error)
    reason, field = None, None
    for detail in (status.details if status else []):
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            field = bad.field_violations[0].field if bad.field_violations else None
    return reason, field


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--auth", required=True, help="host:port of the auth service")
    parser.add_argument("--credential", required=True, help="a service credential from `atelier credential`")
    args = parser.parse_args()

    out = pathlib.Path(tempfile.mkdtemp(prefix="atelier-py-"))
    generate(out)
    auth_pb2 = importlib.import_module("atelier.auth.v1.auth_pb2")
    auth_grpc = importlib.import_module("atelier.auth.v1.auth_pb2_grpc")

    channel = grpc.insecure_channel(args.auth)
    grpc.channel_ready_future(channel).result(timeout=20)
    stub = auth_grpc.AuthServiceStub(channel)
    credential = [("x-atelier-principal", args.credential)]
    email = f"py-{uuid.uuid4().hex[:12]}@example.com"
    password = "Python-Client-42"
    checks = []

    def check(name, condition, detail=""):
        checks.append((name, bool(condition)))
        print(("ok   " if condition else "FAIL ") + name + (f": {detail}" if detail and not condition else ""))

    try:
        stub.SignUp(auth_pb2.SignUpRequest(email=email, password=password), timeout=10)
        check("a call without a credential is refused", False, "it was accepted")
    except grpc.RpcError as error:
        check("a call without a credential is refused", error.code() == grpc.StatusCode.UNAUTHENTICATED, error.code())

    signed_up = stub.SignUp(auth_pb2.SignUpRequest(email=email, password=password, name="Py"), metadata=credential, timeout=30)
    check("sign up returns the user and a session token", signed_up.user.email == email and len(signed_up.session.token) == 64)

    logged_in = stub.LogIn(auth_pb2.LogInRequest(email=email, password=password), metadata=credential, timeout=30)
    check("log in returns a new session", logged_in.session.token and logged_in.session.token != signed_up.session.token)

    validated = stub.ValidateSession(auth_pb2.ValidateSessionRequest(token=logged_in.session.token), metadata=credential, timeout=10)
    check("the session validates to the same user", validated.user.id == signed_up.user.id and validated.session.id)

    try:
        stub.LogIn(auth_pb2.LogInRequest(email=email, password="Wrong-Password-1"), metadata=credential, timeout=30)
        check("a wrong password is refused", False, "it was accepted")
    except grpc.RpcError as error:
        reason, _ = details(error)
        check("a wrong password is refused, ErrorInfo says why", error.code() == grpc.StatusCode.UNAUTHENTICATED
              and reason == "INVALID_CREDENTIALS", f"{error.code()} {reason}")

    try:
        stub.SignUp(auth_pb2.SignUpRequest(email=f"py-{uuid.uuid4().hex[:12]}@example.com", password="short"),
                    metadata=credential, timeout=30)
        check("a weak password is refused", False, "it was accepted")
    except grpc.RpcError as error:
        reason, field = details(error)
        check("a validation error names its reason and field in the standard details",
              error.code() == grpc.StatusCode.INVALID_ARGUMENT and reason == "VALIDATION_FAILED" and field == "password",
              f"{error.code()} {reason} {field}")

    failed = sum(1 for _, ok in checks if not ok)
    print(f"grpc-client: {len(checks) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
