#!/usr/bin/env python3
"""Writes one gRPC request frame (flag byte, 4-byte length, protobuf bytes) for h2load -d.
Usage: grpc_body.py validate TOKEN OUT | grpc_body.py health OUT"""
import struct
import sys


def string_field(number, text):
    data = text.encode()
    key, length, out = (number << 3) | 2, len(data), bytearray()
    out.append(key)
    while True:  # varint length
        byte = length & 0x7F
        length >>= 7
        out.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes(out) + data


kind = sys.argv[1]
message = string_field(1, sys.argv[2]) if kind == "validate" else b""
with open(sys.argv[-1], "wb") as out:
    out.write(b"\x00" + struct.pack(">I", len(message)) + message)
