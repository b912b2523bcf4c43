"""UUIDv7 identifiers: time-ordered, so new rows land at the right edge of every index."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> uuid.UUID:
    """A RFC 9562 version 7 UUID, monotonic within this process.

    Within one millisecond the 12-bit `rand_a` field is used as a counter (RFC 9562
    §6.2 method 1) so ids created in a tight loop still sort in creation order.
    """
    global _last_ms, _counter
    # One read of the system's randomness for both random fields: a syscall each
    # is measurable per request on a small virtual machine.
    entropy = int.from_bytes(os.urandom(10), "big")
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms = ms
            _counter = (entropy >> 64) & 0x7FF
        else:
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        counter = _counter
    rand_b = entropy & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= rand_b
    return uuid.UUID(int=value)
