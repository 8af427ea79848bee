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
key. Since ``sealed/v2`` it is the auditor's frame, keyed by each entity's secret nonce; the
public frame is ``TOKEN,SEAL\\n`` sorted by token (``credit_engine.sampling.blinding``), and its
hash, published before the draw, seeds the generator with the seed and salt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from credit_engine.sampling import blinding
from credit_engine.sampling.weights import DECIMALS, UNIT

#: The first design published (token, π): π is the class, so a drawn entity's opening told its class.
ALGORITHM_V1 = "systematic-pps-shuffled/v1"
ALGORITHM = "systematic-pps-sealed/v2"
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
    text[:, width + 3 : -1] = ord("0") + (units % UNIT)[:, None] // _POW10 % 10
    text[:, -1] = ord("\n")
    return text.tobytes()


def parse_frame(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Keys (bytes) and π units of a canonical frame; ValueError when it is not canonical."""
    width = data.find(b"\n") + 1
    if width <= DECIMALS + 4 or len(data) % width:
        raise ValueError("not a canonical frame: lines must all have the same length")
    text = np.frombuffer(data, dtype=np.uint8).reshape(-1, width)
    key_width = width - DECIMALS - 4
    digits = text[:, key_width + 3 : -1].astype(np.int64) - ord("0")
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


def draw_keys(frame: bytes, seed: str, salt: str, frame_hash: str | None = None) -> list[str]:
    """The keys of the entities the frame, seed and salt draw, in draw order; the generator is
    seeded with ``frame_hash`` (the published one), by default the hash of ``frame`` itself."""
    keys, units = parse_frame(frame)
    rng, _ = streams(seed, salt, frame_hash or sha256(frame))
    return [k.decode() for k in keys[systematic_pps(units, rng)]]


def verify(
    frame: bytes, seed: str, salt: str, commitment_hex: str, frame_hash: str, sample: Sequence[str]
) -> Verification:
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
        problems.append(
            f"re-running the draw gives another sample ({missing} of {len(sample)} published entities "
            "not drawn, or a different order)"
        )
    return Verification(opened, hashed, same, tuple(problems))


# ------------------------------------------------------------------ the sealed public frame (v2)

_SEALED_LINE = 2 * blinding.TOKEN_CHARS + 2


def public_frame(tokens: np.ndarray, seals: np.ndarray) -> bytes:
    """``TOKEN,SEAL`` lines sorted by token: what is published and hashed before the draw."""
    order = np.argsort(np.asarray(tokens, dtype=str), kind="stable")
    lines = [f"{t},{s}\n" for t, s in zip(np.asarray(tokens)[order].tolist(), np.asarray(seals)[order].tolist())]
    if not lines:
        raise ValueError("an empty frame cannot be drawn from")
    data = "".join(lines).encode("ascii")
    if len(data) != len(lines) * _SEALED_LINE or len(set(np.asarray(tokens).tolist())) != len(lines):
        raise ValueError("tokens and seals must be unique 32-character hex strings")
    return data


def parse_public_frame(data: bytes) -> dict[str, str]:
    """Token → seal of a public frame; ValueError when it is not one."""
    text = data.decode("ascii", errors="replace")
    if not text or len(text) % _SEALED_LINE:
        raise ValueError("not a public frame: each line is TOKEN,SEAL (32 hex characters each)")
    found: dict[str, str] = {}
    for line in text.splitlines():
        token, _, seal = line.partition(",")
        if len(token) != blinding.TOKEN_CHARS or len(seal) != blinding.TOKEN_CHARS or token in found:
            raise ValueError("not a public frame: each line is TOKEN,SEAL (32 hex characters each), tokens unique")
        found[token] = seal
    if list(found) != sorted(found):
        raise ValueError("not a public frame: tokens must be sorted")
    return found


def verify_public(
    frame: bytes,
    seed: str,
    salt: str,
    commitment_hex: str,
    frame_hash: str,
    sample_size: int,
    sample: Sequence[tuple[str, str]],
) -> Verification:
    """What anyone can check of a sealed draw from its publication: the seed opens the commitment,
    the frame has the hash published before the draw, and the sample is ``sample_size`` distinct
    entities each of which (USCC, opening) was in that frame. Not which π each was drawn with,
    nor that the frame held the right π: that takes the nonces (``verify_full``)."""
    problems = []
    opened = commitment(seed, salt) == commitment_hex
    if not opened:
        problems.append("seed and salt do not open the published commitment")
    hashed = sha256(frame) == frame_hash
    if not hashed:
        problems.append("the frame does not have the published hash")
    try:
        seals = parse_public_frame(frame)
    except ValueError as exc:
        seals = {}
        problems.append(str(exc))
    tokens = [blinding.token(uscc, opening) for uscc, opening in sample]
    missing = sum(t not in seals for t in tokens)
    if missing:
        problems.append(f"{missing} of {len(tokens)} published entities are not in the committed frame")
    if len(set(tokens)) != len(tokens) or len(tokens) != sample_size:
        problems.append(f"the sample holds {len(set(tokens))} distinct entities, the draw {sample_size}")
    same = not missing and len(set(tokens)) == len(tokens) == sample_size
    return Verification(opened, hashed, same, tuple(problems))


def verify_receipt(frame: bytes, uscc: str, opening: str, nonce: str, pi_units: int) -> bool:
    """A drawn entity's check of itself: its token is in the public frame, sealing its π."""
    return parse_public_frame(frame).get(blinding.token(uscc, opening)) == blinding.seal(nonce, pi_units)


def verify_full(
    rows: pd.DataFrame, frame: bytes, seed: str, salt: str, commitment_hex: str, frame_hash: str, sample: Sequence[str]
) -> Verification:
    """The auditor's re-run of a sealed draw. ``rows``: every entity of the frame with its uscc,
    opening, nonce and pi_units; ``sample``: the drawn USCCs in draw order. The rows must rebuild
    the published frame exactly (so they are the π committed before the draw), and the draw over
    them, in nonce order, must give the sample."""
    problems = []
    opened = commitment(seed, salt) == commitment_hex
    if not opened:
        problems.append("seed and salt do not open the published commitment")
    tokens = blinding.tokens(rows["uscc"].to_numpy(dtype=str), rows["opening"].to_numpy(dtype=str))
    nonced = rows["nonce"].to_numpy(dtype=str)
    units = rows["pi_units"].to_numpy(dtype=np.int64)
    rebuilt = public_frame(tokens, blinding.seals(nonced, units))
    hashed = sha256(frame) == frame_hash and rebuilt == frame
    if not hashed:
        problems.append("the frame's openings, nonces and π do not rebuild the frame published before the draw")
    order = np.argsort(nonced, kind="stable")
    try:
        drawn = draw_keys(canonical_frame(nonced[order].astype("S"), units[order]), seed, salt, frame_hash)
    except ValueError as exc:
        drawn = []
        problems.append(str(exc))
    by_nonce = dict(zip(nonced.tolist(), rows["uscc"].tolist(), strict=True))
    again = [by_nonce[n] for n in drawn]
    same = again == list(sample)
    if not same:
        problems.append(
            f"re-running the draw gives another sample ({len(set(sample) - set(again))} of {len(sample)} "
            "published entities not drawn, or a different order)"
        )
    return Verification(opened, hashed, same, tuple(problems))
