"""Blinded frame keys and sealed π: a public frame that tells no one's class, not even a drawn one's.

π follows the class, and under every published policy the class ranges are disjoint (林甸:
A ≤ 5 %, B 5–20 %, C 21–60 %, D 61–100 %), so π is the class (RULES.md §1 keeps it internal).
Each entity in a draw's frame gets, under a key kept secret per draw (keyed BLAKE2b, RFC 7693):

- an *opening*; its *token* = SHA-256(opening ":" USCC)[:32] is its key in the public frame;
- a *nonce*; its *seal* = SHA-256(nonce ":" π units)[:32] hides its π in the public frame.

The public frame lists (token, seal) only, so its hash commits π without showing it; the
draw runs over the entities in nonce order (secret), so the positions of the drawn entities
tell nothing either. The public gets the openings of the drawn entities: it can check that
each was in the frame committed before the seed was known, not which π it was drawn with.
An auditor gets every opening, nonce and π and re-runs the draw; a drawn entity, handed its
opening, nonce and π (its receipt), checks its own seal.

Without an opening a token cannot be tied to a USCC (the USCCs are public, so an unsalted hash
would be reversed by trying them all); without a nonce a seal cannot be tied to a π (π takes
few values, so an unsalted one would be reversed the same way).
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


def nonces(key: str, usccs: np.ndarray) -> np.ndarray:
    """Each entity's secret nonce under the draw's key (hex, 128 bits), independent of its opening."""
    secret = bytes.fromhex(key)
    macs = [
        hashlib.blake2b(u.encode(), key=secret, digest_size=16, person=b"pi-nonce").hexdigest()
        for u in np.asarray(usccs).tolist()
    ]
    return np.array(macs, dtype=f"U{TOKEN_CHARS}")


def seal(nonce: str, pi_units: int) -> str:
    """What the public frame shows of an entity's π: nothing, until its nonce is given."""
    return hashlib.sha256(f"{nonce}:{int(pi_units)}".encode()).hexdigest()[:TOKEN_CHARS]


def seals(nonced: np.ndarray, units: np.ndarray) -> np.ndarray:
    return np.array(
        [seal(n, u) for n, u in zip(np.asarray(nonced).tolist(), np.asarray(units).tolist(), strict=True)],
        dtype=f"U{TOKEN_CHARS}",
    )


def token(uscc: str, opening: str) -> str:
    """The frame key of an entity: what anyone can recompute from a published opening."""
    return hashlib.sha256(f"{opening}:{uscc}".encode()).hexdigest()[:TOKEN_CHARS]


def tokens(usccs: np.ndarray, opened: np.ndarray) -> np.ndarray:
    return np.array(
        [token(u, o) for u, o in zip(np.asarray(usccs).tolist(), np.asarray(opened).tolist(), strict=True)],
        dtype=f"U{TOKEN_CHARS}",
    )
