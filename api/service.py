"""What the running service holds: the store, the champion model, the rule sets, the limiter.

Built once by the app's lifespan; the champion can be swapped while serving (``reload``), so an
analyst's promotion takes effect without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from sqlalchemy import Engine

from credit_engine.grading import batch
from credit_engine.keys import KeyCache
from credit_engine.rules import RuleSet, load_rule_sets
from credit_engine.scoring import registry
from credit_engine.settings import Settings
from credit_engine.store.audit import GroupWriter
from credit_engine.store.db import make_engine, upgrade
from credit_engine.store.roles import owns_tables

log = logging.getLogger("credit_engine.api")
#: Reason codes kept in memory (a few hundred bytes each): ``pred_contrib`` costs about a
#: millisecond a row, the largest part of a regulator's entity lookup.
REASONS_KEPT = 50_000


def async_storage(url: str):
    """The asynchronous form of a limits storage URL (``memory://``, ``redis://host:6379``):
    Redis through redis-py's asyncio client, which the service already installs."""
    scheme = url.removeprefix("async+")
    options = {"implementation": "redispy"} if scheme.startswith(("redis", "rediss")) else {}
    return storage_from_string(f"async+{scheme}", **options)


@dataclass
class Service:
    settings: Settings
    engine: Engine
    rule_sets: tuple[RuleSet, ...]
    limiter: MovingWindowRateLimiter
    public_limit: RateLimitItem
    db_slots: asyncio.Semaphore  # requests at the database at once (``deps.get_conn``)
    keys: KeyCache
    read_audit: GroupWriter | None = None  # the audit rows of reads, when they go to a database of their own
    champion: registry.Champion | None = None
    champion_problem: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _reasons: OrderedDict[tuple[str, str], list[dict]] = field(default_factory=OrderedDict, repr=False)

    @classmethod
    def start(cls, settings: Settings) -> Service:
        service = cls(
            settings=settings,
            engine=make_engine(settings.db_url, settings.db_connections),
            rule_sets=load_rule_sets(),
            limiter=MovingWindowRateLimiter(async_storage(settings.rate_limit_storage)),
            public_limit=parse(settings.public_rate_limit),
            db_slots=asyncio.Semaphore(settings.db_connections),
            keys=KeyCache(settings.api_key_cache_seconds),
        )
        if settings.read_audit_url != settings.db_url:
            audit_engine = make_engine(settings.read_audit_url)
            upgrade(audit_engine)  # the store's schema: only its audit log is used there
            service.read_audit = GroupWriter(audit_engine)
        if owns_tables(service.engine):
            log.warning(
                "the service connects as the owner of the tables, which can switch the append-only "
                "triggers off: serve as the role `credit-engine init --service-role` grants"
            )
        service.reload()
        return service

    def reload(self) -> str | None:
        """Load the version behind the ``champion`` alias; keep serving the old one if that fails."""
        try:
            champion = registry.load_champion(self.settings)
        except Exception as exc:  # no champion yet, registry unreachable: the service still serves records
            with self._lock:
                self.champion_problem = str(exc)
            log.warning("champion not loaded: %s", exc)
            return self.champion.version if self.champion else None
        with self._lock:
            self.champion, self.champion_problem = champion, None
        log.info("champion credit-risk/%s loaded", champion.version)
        return champion.version

    def reasons(self, grade_row: dict) -> list[dict]:
        """The model reason codes of a stored grade. Grades are append-only and the codes follow
        from the exact model version and the stored feature vector, so they are computed once."""
        key = (grade_row["model_version"], grade_row["features_json"])
        with self._lock:
            if key in self._reasons:
                self._reasons.move_to_end(key)
                return self._reasons[key]
        found = batch.explain(self.settings, grade_row, champion=self.champion)
        with self._lock:
            self._reasons[key] = found
            if len(self._reasons) > REASONS_KEPT:
                self._reasons.popitem(last=False)
        return found

    async def follow_champion(self) -> None:
        """Load the champion again whenever its alias names another version. Each worker process
        holds its own model, and a promotion reloads only the worker that made it."""
        while self.settings.champion_follow_seconds > 0:
            await asyncio.sleep(self.settings.champion_follow_seconds)
            try:
                named = await asyncio.to_thread(registry.alias_version, self.settings, "champion")
            except Exception as exc:  # the registry unreachable for a while: keep serving, try again
                log.warning("champion alias not read: %s", exc)
                continue
            if named is not None and named != (self.champion.version if self.champion else None):
                await asyncio.to_thread(self.reload)

    def stop(self) -> None:
        if self.read_audit is not None:
            self.read_audit.stop()
            self.read_audit.engine.dispose()
        self.engine.dispose()
