"""Exact probability-proportional draws without replacement, verifiable by anyone.

The design is systematic PPS over a seeded shuffle: the frame's units (π in units of 10⁻⁹, so
Σ = n · 10⁹ exactly) are laid end to end in a random order, and n points one unit of 10⁹ apart,
from a uniform random integer start, pick the entities whose segments they fall in. Every
segment is at most 10⁹ long, so it holds at most one point, with probability exactly its length
over 10⁹: the inclusion probability is exactly the published π. (``Generator.choice(replace=False,
p=…)`` draws successively and gives other probabilities.)

Verifiability: before the draw, publish the frame hash (SHA-256 of the canonical frame) and the
commitment SHA-256(salt ":" seed); after it, reveal seed and salt. The random generator is seeded
from seed, salt and frame hash, so anyone holding the frame re-runs the draw (``verify``).

The canonical frame is one fixed-width ASCII line per entity, ``KEY,0.123456789\\n``, sorted by
key; keys are the blinded tokens of ``credit_engine.sampling.blinding`` in the published frame.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from credit_engine.sampling.weights import DECIMALS, UNIT

ALGORITHM = "systematic-pps-shuffled/v1"
_POW10 = 10 ** np.arange(DECIMALS - 1, -1, -1, dtype=np.int64)


def canonical_frame(keys: np.ndarray, units: np.ndarray) -> bytes:
    """The frame as hashed and published; ``keys`` must be sorted, unique and of one length."""
    keys = np.asarray(keys, dtype="S")
    units = np.asarray(units, dtype=np.int64)
    if len(keys) == 0:
        raise ValueError("an empty frame cannot be drawn from")
    if np.any(keys[1:] <= keys[:-1]):
        raise ValueError("frame keys must be sorted and unique")
    if np.any((units < 0) | (units > UNIT)):
        raise ValueError("π must lie in [0, 1]")
    width = keys.dtype.itemsize
    text = np.empty((len(keys), width + DECIMALS + 4), dtype=np.uint8)
    text[:, :width] = keys.view(np.uint8).reshape(len(keys), width)
    if np.any(text[:, :width] == 0):
        raise ValueError("frame keys must all have the same length")
    text[:, width] = ord(",")
    text[:, width + 1] = ord("0") + units // UNIT
    text[:, width + 2] = ord(".")
    text[:, width + 3:-1] = ord("0") + (units % UNIT)[:, None] // _POW10 % 10
    text[:, -1] = ord("\n")
    return text.tobytes()


def parse_frame(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Keys (bytes) and π units of a canonical frame; ValueError when it is not canonical."""
    width = data.find(b"\n") + 1
    if width <= DECIMALS + 4 or len(data) % width:
        raise ValueError("not a canonical frame: lines must all have the same length")
    text = np.frombuffer(data, dtype=np.uint8).reshape(-1, width)
    key_width = width - DECIMALS - 4
    digits = text[:, key_width + 3:-1].astype(np.int64) - ord("0")
    whole = text[:, key_width + 1].astype(np.int64) - ord("0")
    separators = (text[:, key_width] == ord(",")) & (text[:, key_width + 2] == ord(".")) & (text[:, -1] == ord("\n"))
    if not separators.all() or np.any((digits < 0) | (digits > 9)) or np.any((whole < 0) | (whole > 1)):
        raise ValueError("not a canonical frame: each line is KEY,D.DDDDDDDDD")
    units = whole * UNIT + digits @ _POW10
    keys = text[:, :key_width].copy().view(f"S{key_width}").ravel()
    if np.any(keys[1:] <= keys[:-1]) or np.any(units > UNIT):
        raise ValueError("not a canonical frame: keys unsorted or repeated, or π above 1")
    return keys, units


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def commitment(seed: str, salt: str) -> str:
    """The hash published before the draw; the salt makes a short seed unguessable from it."""
    return sha256(f"{salt}:{seed}".encode())


def streams(seed: str, salt: str, frame_hash: str) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent generators for the entities and for the inspectors, from the revealed values."""
    entropy = int(sha256(f"{salt}:{seed}:{frame_hash}".encode()), 16)
    entities, inspectors = np.random.SeedSequence(entropy).spawn(2)
    return np.random.Generator(np.random.PCG64(entities)), np.random.Generator(np.random.PCG64(inspectors))


def systematic_pps(units: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Frame positions of the drawn entities, in draw order (see the module docstring)."""
    units = np.asarray(units, dtype=np.int64)
    total = int(units.sum())
    if total % UNIT:
        raise ValueError(f"Σπ = {total / UNIT} is not a whole sample size")
    order = rng.permutation(len(units))
    ends = np.cumsum(units[order])
    start = int(rng.integers(0, UNIT))
    points = start + UNIT * np.arange(total // UNIT, dtype=np.int64)
    return order[np.searchsorted(ends, points, side="right")]


@dataclass(frozen=True)
class Verification:
    """Each check of a published draw; ``ok`` only when all hold."""

    commitment_matches: bool
    frame_hash_matches: bool
    sample_matches: bool
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.commitment_matches and self.frame_hash_matches and self.sample_matches


def draw_keys(frame: bytes, seed: str, salt: str) -> list[str]:
    """The keys of the entities the frame, seed and salt draw, in draw order."""
    keys, units = parse_frame(frame)
    rng, _ = streams(seed, salt, sha256(frame))
    return [k.decode() for k in keys[systematic_pps(units, rng)]]


def verify(frame: bytes, seed: str, salt: str, commitment_hex: str, frame_hash: str,
           sample: Sequence[str]) -> Verification:
    """Re-run a published draw: the seed must open the commitment, the frame must have the
    published hash, and the draw must give exactly ``sample`` (keys, in draw order)."""
    problems = []
    opened = commitment(seed, salt) == commitment_hex
    if not opened:
        problems.append("seed and salt do not open the published commitment")
    hashed = sha256(frame) == frame_hash
    if not hashed:
        problems.append("the frame does not have the published hash")
    try:
        again = draw_keys(frame, seed, salt)
    except ValueError as exc:
        again = []
        problems.append(str(exc))
    same = again == list(sample)
    if not same:
        missing = len(set(sample) - set(again))
        problems.append(f"re-running the draw gives another sample ({missing} of {len(sample)} published entities "
                        "not drawn, or a different order)")
    return Verification(opened, hashed, same, tuple(problems))
