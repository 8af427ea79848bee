"""The HTTP service: ``create_app`` builds it; ``credit-engine serve`` runs it."""

from api.app import create_app

__all__ = ["create_app"]
