"""gepad: the local personalization daemon."""

__version__ = "0.1.0"
