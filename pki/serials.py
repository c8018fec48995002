"""Certificate serial numbers: random, positive, at most 20 octets."""

from __future__ import annotations

import os

# RFC 5280 4.1.2.2: serial numbers are positive and at most 20 octets. 159 random bits
# keep the top bit of the first octet clear, so the DER integer never needs a 21st octet.
SERIAL_BITS = 159


def random_serial() -> int:
    while True:
        serial = int.from_bytes(os.urandom(20), "big") >> (160 - SERIAL_BITS)
        if serial:
            return serial


def colon_hex(serial: int) -> str:
    """'3a:0f:...' as the v2 contract shows serial numbers."""
    raw = serial.to_bytes(max(1, (serial.bit_length() + 7) // 8), "big")
    return ":".join(f"{b:02x}" for b in raw)
