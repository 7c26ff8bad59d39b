"""smsgate: self-hosted A2P SMS gateway."""

__version__ = "0.1.0"
