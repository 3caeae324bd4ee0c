"""CPU shares by component from a system-wide `perf record` of one benchmark run.

    python3 profile_shares.py PERF_DATA [--markdown LABEL]

Reads `perf report` (self time, no call graph) and sorts every sample into a component: the
PostgreSQL server, the load generator, the kernel under Atelier's threads, the Swift runtime,
malloc, and Atelier's binary by the Swift module its symbol belongs to (gRPC and HTTP/2, the
HTTP/1 edge, SwiftNIO, postgres-nio, protobuf, Atelier's own code...). Idle time is left out:
the shares are of the busy CPU. Prints `component<TAB>percent` lines, largest first.
"""
import re
import subprocess
import sys
from collections import defaultdict

MODULES = {
    "gRPC and HTTP/2 (grpc-swift, swift-nio-http2)": ("GRPCCore", "GRPCNIOTransportCore", "GRPCNIOTransportHTTP2",
                                                      "GRPCNIOTransportHTTP2Posix", "GRPCProtobuf", "NIOHTTP2", "NIOHPACK"),
    "HTTP/1 edge (Hummingbird, NIOHTTP1)": ("Hummingbird", "HummingbirdCore", "HummingbirdRouter", "NIOHTTP1", "HTTPTypes",
                                            "NIOHTTPTypes", "NIOHTTPTypesHTTP1", "NIOExtras"),
    "SwiftNIO core and collections": ("NIOCore", "NIOPosix", "NIOConcurrencyHelpers", "_NIODataStructures", "NIOEmbedded",
                                      "_NIOBase64", "DequeModule", "Atomics", "OrderedCollections", "InternalCollectionsUtilities"),
    "postgres-nio": ("PostgresNIO", "_ConnectionPoolModule"),
    "protobuf (swift-protobuf)": ("SwiftProtobuf",),
    "Atelier code (edge, services, ServiceKit)": ("Edge", "ServiceKit", "AuthService", "CatalogService", "CommerceService",
                                                  "GenerationService", "AtelierProtos", "atelier"),
    "crypto (swift-crypto)": ("Crypto", "_CryptoExtras", "CryptoExtras"),
    "logging, lifecycle, async algorithms": ("Logging", "ServiceLifecycle", "AsyncAlgorithms", "UnixSignals"),
}
BY_MODULE = {module: component for component, modules in MODULES.items() for module in modules}


def swift_module(symbol):
    """The module of a mangled Swift symbol ($s10ServiceKit...), or None."""
    match = re.match(r"^\$s(?:S[a-zA-Z]|s)?(\d+)([A-Za-z_][A-Za-z0-9_]*)", symbol)
    if symbol.startswith("$sS") or symbol.startswith("$ss"):
        return "Swift"
    if not match:
        return None
    length = int(match.group(1))
    return match.group(2)[:length]


def component(comm, dso, symbol):
    if comm == "swapper":
        return None
    if comm.startswith("postgres"):
        return "PostgreSQL server"
    if comm.startswith("wrk"):
        return "load generator (wrk)"
    if comm.startswith("perf"):
        return "perf itself"
    if dso == "[kernel.kallsyms]" or symbol.startswith("[k]"):
        return "kernel under Atelier (sockets, scheduling)"
    name = symbol[4:] if symbol.startswith("[.] ") else symbol
    if dso.startswith("libc.so") or dso.startswith("libc-"):
        return "malloc and libc"
    if dso.startswith("libswiftCore") or dso.startswith("libswift_Concurrency") or dso.startswith("libdispatch") \
            or dso.startswith("libBlocksRuntime") or dso.startswith("libswiftDispatch") or dso.startswith("libswiftSynchronization"):
        return "Swift runtime (ARC, generics, tasks)"
    if dso.startswith("ld-linux") or dso == "[vdso]" or symbol.startswith("[.] __swift_"):
        return "Swift runtime (ARC, generics, tasks)"
    if dso.startswith("libFoundation"):
        return "Foundation"
    if dso.startswith("libstdc++") or dso.startswith("libm.") or dso.startswith("libgcc"):
        return "malloc and libc"
    module = swift_module(name)
    if module == "Swift":
        return "Swift standard library (specialised)"
    if module in BY_MODULE:
        return BY_MODULE[module]
    if name.startswith("CCryptoBoringSSL") or name.startswith("_CCryptoBoringSSL"):
        return "crypto (swift-crypto)"
    if name.startswith("sqlite3"):
        return "SQLite"
    return "other"


def main():
    data = sys.argv[1]
    report = subprocess.run(
        ["perf", "report", "-i", data, "--no-children", "--sort", "comm,dso,sym", "--stdio", "-g", "none", "-t", "@"],
        capture_output=True, text=True, check=True).stdout
    shares = defaultdict(float)
    for line in report.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = [field.strip() for field in line.split("@")]
        if len(fields) < 4 or not fields[0].endswith("%"):
            continue
        where = component(fields[1], fields[2], fields[3])
        if where:
            shares[where] += float(fields[0].rstrip("%"))
    busy = sum(shares.values()) or 1
    for name, value in sorted(shares.items(), key=lambda item: -item[1]):
        print(f"{name}\t{100 * value / busy:.1f}")


if __name__ == "__main__":
    main()
