"""The archive of source files: each original kept (it is the evidence) but encrypted at rest.

A source file holds identity numbers in the clear, so the archive keeps it encrypted with a key
from the settings (``archive_key``; by default derived from the pseudonym secret), in chunks of
AES-256-GCM so that a file of gigabytes is never held in memory. Each chunk's nonce counts the
chunks and its associated data names the file and whether the chunk is the last one, so a
chunk moved, dropped or cut off fails to decrypt. Every read of an archived original is audited
(``read``: the caller's actor and why).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection

from credit_engine.settings import Settings
from credit_engine.store.repository import Store, now_utc

MAGIC = b"credit-engine-archive/aes-256-gcm/1\n"
CHUNK = 1 << 20
SUFFIX = ".enc"


class ArchiveError(RuntimeError):
    """An archived file that does not decrypt with the key (wrong key, or altered)."""


def _key(settings: Settings) -> bytes:
    if settings.archive_key:
        key = base64.urlsafe_b64decode(settings.archive_key.encode())
        if len(key) != 32:
            raise ValueError("CREDIT_ENGINE_ARCHIVE_KEY must be 32 bytes in url-safe base64 (44 characters)")
        return key
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"credit-engine archive encryption")
    return hkdf.derive(settings.pseudonym_secret.encode())


def _aad(name: str, index: int, last: bool) -> bytes:
    return f"{name}:{index}:{int(last)}".encode()


def archive(path: Path, sha: str, suffix: str, settings: Settings) -> Path:
    """Encrypt ``path`` into the archive under its content hash (write-once: an archived file is
    never rewritten), chunk by chunk."""
    target = settings.archive_dir / sha[:2] / f"{sha}{suffix}{SUFFIX}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    cipher, prefix = AESGCM(_key(settings)), secrets.token_bytes(8)
    partial = target.with_suffix(target.suffix + ".part")
    with path.open("rb") as source, partial.open("wb") as out:
        out.write(MAGIC + prefix)
        index, chunk = 0, source.read(CHUNK)
        while True:
            following = source.read(CHUNK)
            last = not following
            sealed = cipher.encrypt(prefix + index.to_bytes(4, "big"), chunk, _aad(target.name, index, last))
            out.write(len(sealed).to_bytes(4, "big") + sealed)
            if last:
                break
            index, chunk = index + 1, following
    os.replace(partial, target)
    return target


def _chunks(path: Path, settings: Settings) -> Iterator[bytes]:
    cipher = AESGCM(_key(settings))
    with path.open("rb") as source:
        if source.read(len(MAGIC)) != MAGIC:
            raise ArchiveError(f"{path.name} is not an encrypted archive file")
        prefix, index = source.read(8), 0
        size = source.read(4)
        while size:
            sealed = source.read(int.from_bytes(size, "big"))
            size = source.read(4)
            try:
                yield cipher.decrypt(prefix + index.to_bytes(4, "big"), sealed, _aad(path.name, index, not size))
            except InvalidTag as exc:
                raise ArchiveError(f"{path.name}: chunk {index} does not decrypt (another key, or altered)") from exc
            index += 1


@contextmanager
def read(conn: Connection, settings: Settings, archive_path: str | Path, actor: str, why: str) -> Iterator[Path]:
    """The original of an archived file as a plain file in the working folder's scratch space,
    removed afterwards; the read is audited in the caller's transaction first. A file archived
    before encryption (no ``.enc``) is read as it is. The content hash is checked."""
    path = Path(archive_path)
    Store(conn).audit(now_utc(), actor, "archive_read", path.name, {"why": why})
    if path.suffix != SUFFIX:
        yield path
        return
    with settings.scratch("archive-") as folder:
        plain = Path(folder) / path.name.removesuffix(SUFFIX)
        digest = hashlib.sha256()
        with plain.open("wb") as out:
            for chunk in _chunks(path, settings):
                digest.update(chunk)
                out.write(chunk)
        if not path.name.startswith(digest.hexdigest()):
            raise ArchiveError(f"{path.name} decrypts to content of another hash")
        yield plain
