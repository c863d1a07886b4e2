"""Deterministic ids in the formats providers use, derived from a seed (a digest of the request).

The same request always gets the same ids, so recordings made against a simulator are stable.

>>> base62("seed", 9).isalnum(), len(base62("seed", 9))
(True, 9)
>>> uuid_like("seed").count("-")
4
"""

from __future__ import annotations

import hashlib

__all__ = ["base62", "derive", "hex_id", "uuid_like"]

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def derive(seed: str, *parts: object) -> str:
    """A new hex seed from a seed and a label (a tool call's index, "request-id", ...)."""
    text = ":".join([seed, *(str(p) for p in parts)])
    return hashlib.sha256(text.encode()).hexdigest()


def base62(seed: str, length: int) -> str:
    number = int(derive(seed, "b62", length), 16)
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def hex_id(seed: str, length: int) -> str:
    return derive(seed, "hex")[:length]


def uuid_like(seed: str) -> str:
    """A version-4-shaped UUID."""
    h = derive(seed, "uuid")
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"
