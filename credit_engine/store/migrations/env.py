"""Alembic environment: the engine is handed over by ``credit_engine.store.db.upgrade``."""

from alembic import context

from credit_engine.store.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    context.run_migrations()
