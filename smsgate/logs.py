"""Structured (key=value) logs on stderr. Secrets are never passed to a logger."""

from __future__ import annotations

import logging
import sys


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().replace('"', "'")
        line = f'time={self.formatTime(record)} level={record.levelname.lower()} logger={record.name} msg="{message}"'
        if record.exc_info:
            line += " exc=" + repr(self.formatException(record.exc_info).splitlines()[-1])
        return line


def setup(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
