"""The online face of the service (FastAPI); built on the core, never imported by it."""
