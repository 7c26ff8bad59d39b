"""The phone list of a bulk: one number per line, first cell of a CSV row. Pure and fast.

Blank lines are counted and skipped; a first line without any digit is a header and skipped;
a number seen before (after normalisation) is counted as a duplicate and sent once; any other
line that is not a phone number is counted as invalid and skipped, the first ones reported
with their line numbers.
"""

from __future__ import annotations

import re

import msgspec

from ...core.errors import GatewayError
from .parse import recipient

REPORTED_INVALID = 100
_CELL = re.compile(r"[,;\t|]")
_LINE = re.compile(r"[^\r\n]+")
_QUOTES = "\"' \t\ufeff"


class PhoneList(msgspec.Struct, kw_only=True):
    phones: list[str]
    lines: int = 0
    blank: int = 0
    header: bool = False
    duplicates: int = 0
    invalid: int = 0
    invalid_lines: list[tuple[int, str]] = msgspec.field(default_factory=list)


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Five bytes (0x98 among them) mean nothing in CP1251: such a line is not a number.
        return data.decode("cp1251", errors="replace")


def parse(data: bytes) -> PhoneList:
    text = decode(data)
    if "\n" not in text:
        text = text.replace("\r", "\n")  # old Mac line ends
    result = PhoneList(phones=[])
    result.lines = text.count("\n") + (0 if not text or text.endswith("\n") else 1)
    seen: set[str] = set()
    first = True
    nonblank = 0
    at, line_at = 0, 1  # a position and its line number, advanced lazily

    def line_of(pos: int) -> int:
        nonlocal at, line_at
        line_at += text.count("\n", at, pos)
        at = pos
        return line_at

    for match in _LINE.finditer(text):
        line = match.group()
        cells = _CELL.split(line) if _CELL.search(line) else [line]
        cell = next((c.strip(_QUOTES) for c in cells if c.strip(_QUOTES)), "")
        if not cell:
            continue
        nonblank += 1
        if first:
            first = False
            if not any(ch.isdigit() for ch in line):
                result.header = True
                continue
        try:
            phone = recipient(cell)
        except GatewayError:
            result.invalid += 1
            if len(result.invalid_lines) < REPORTED_INVALID:
                result.invalid_lines.append((line_of(match.start()), cell[:64]))
            continue
        if phone in seen:
            result.duplicates += 1
            continue
        seen.add(phone)
        result.phones.append(phone)
    result.blank = result.lines - nonblank
    return result
