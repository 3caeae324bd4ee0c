"""The test Echo service (Tests/Support/EchoService.swift) on Python's grpcio, for interoperability
tests of ServiceKit's lean client against a server that is not grpc-swift.

    python grpcio_server.py PORT

Listens on 127.0.0.1:PORT until killed, prints "listening" once it does. Methods of
`atelier.test.Echo` on raw bytes: Echo, Sleep (milliseconds as text), Fail (INVALID_ARGUMENT
with ErrorInfo and BadRequest details), Big (that many bytes).
"""
import signal
import sys
import threading
import time
from concurrent import futures

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status


def echo(request, context):
    context.send_initial_metadata((("echo-count", str(len(request))),))
    return request


def sleep(request, context):
    time.sleep(int(request.decode() or "0") / 1000)
    return b"slept"


def fail(request, context):
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason="ECHO_REFUSED", domain="atelier"))
    bad = any_pb2.Any()
    bad.Pack(error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field="input", description="refused")]))
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message="refused: " + request.decode(), details=[info, bad])
    context.abort_with_status(rpc_status.to_status(status))


def big(request, context):
    return b"a" * int(request.decode() or "0")


def main():
    port = int(sys.argv[1])
    handlers = {name: grpc.unary_unary_rpc_method_handler(function) for name, function in
                {"Echo": echo, "Sleep": sleep, "Fail": fail, "Big": big}.items()}
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16),
                         options=[("grpc.max_send_message_length", 64 << 20)])
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("atelier.test.Echo", handlers),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    # SIGTERM is how the tests stop it: the Swift test process starts it with most signals
    # blocked (inherited), and grpcio's own wait would keep Python from seeing one.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    server.start()
    print("listening", flush=True)
    while not stopped.wait(0.1):
        pass
    server.stop(0)


if __name__ == "__main__":
    main()
