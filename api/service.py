"""What the running service holds: the store, the champion model, the rule sets, the limiter.

Built once by the app's lifespan; the champion can be swapped while serving (``reload``), so an
analyst's promotion takes effect without a restart.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Engine

from credit_engine.rules import RuleSet, load_rule_sets
from credit_engine.scoring import registry
from credit_engine.settings import Settings
from credit_engine.store.db import make_engine

log = logging.getLogger("credit_engine.api")


@dataclass
class Service:
    settings: Settings
    engine: Engine
    rule_sets: tuple[RuleSet, ...]
    limiter: MovingWindowRateLimiter
    public_limit: RateLimitItem
    champion: registry.Champion | None = None
    champion_problem: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def start(cls, settings: Settings) -> "Service":
        service = cls(
            settings=settings,
            engine=make_engine(settings.db_url),
            rule_sets=load_rule_sets(),
            limiter=MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage)),
            public_limit=parse(settings.public_rate_limit),
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

    def stop(self) -> None:
        self.engine.dispose()
