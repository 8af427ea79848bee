"""Blinded frame keys: a public frame anyone can re-draw without learning anyone's class.

π follows the class, and under every published policy the class ranges are disjoint (林甸:
A ≤ 5 %, B 5–20 %, C 21–60 %, D 61–100 %), so a frame of (USCC, π) would publish the class of
every entity in scope — which RULES.md §1 keeps internal. The published frame therefore lists
(token, π), token = SHA-256(opening ":" USCC) truncated to 128 bits, where each entity's opening
is a MAC of its USCC (keyed BLAKE2b, RFC 7693) under a key kept secret per draw. The openings of the drawn entities are
published with the sample, so anyone can check that the drawn tokens are those entities; the
other openings stay secret, and without them a token cannot be tied to a USCC (the USCCs are
public, so an unsalted hash would be reversed by trying them all).

What the public does learn: the scope's size and its multiset of π (the class mix of the scope,
in aggregate), and the π — hence the class band — of each drawn entity. That is the price of a
draw anyone can re-run; being drawn is published anyway, and the sample's class mix is what the
policy table already announces.
"""

from __future__ import annotations

import hashlib
import secrets

import numpy as np

TOKEN_CHARS = 32


def new_key() -> str:
    return secrets.token_hex(32)


def openings(key: str, usccs: np.ndarray) -> np.ndarray:
    """Each entity's secret opening under the draw's key (hex, 128 bits)."""
    secret = bytes.fromhex(key)
    macs = [hashlib.blake2b(u.encode(), key=secret, digest_size=16).hexdigest() for u in np.asarray(usccs).tolist()]
    return np.array(macs, dtype=f"U{TOKEN_CHARS}")


def token(uscc: str, opening: str) -> str:
    """The frame key of an entity: what anyone can recompute from a published opening."""
    return hashlib.sha256(f"{opening}:{uscc}".encode()).hexdigest()[:TOKEN_CHARS]


def tokens(usccs: np.ndarray, opened: np.ndarray) -> np.ndarray:
    return np.array([token(u, o) for u, o in zip(np.asarray(usccs).tolist(), np.asarray(opened).tolist(), strict=True)],
                    dtype=f"U{TOKEN_CHARS}")
