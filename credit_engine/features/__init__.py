"""The indicator system (RULES.md §1): five groups of features, computed as of a date from what
the store knew on that date, with their catalogue and frame schema."""

from credit_engine.features import indicators as _indicators  # noqa: F401 - registers the groups
from credit_engine.features.catalogue import FEATURES, GROUPS, Feature, catalogue, feature_names, schema
from credit_engine.features.history import History, load_history
from credit_engine.features.indicators import features_as_of

__all__ = [
    "FEATURES",
    "GROUPS",
    "Feature",
    "History",
    "catalogue",
    "feature_names",
    "features_as_of",
    "load_history",
    "schema",
]
