"""The root of every exception gepad raises on purpose."""

from __future__ import annotations


class GepadError(Exception):
    """Base class for gepad's own errors."""


class ConfigError(GepadError):
    """The configuration is invalid; the message names the key and the file."""


class StoreError(GepadError):
    """The database cannot be used as asked."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer gepad; it is refused and left untouched."""
