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
from .requests import recipient

REPORTED_INVALID = 100
_CELL = re.compile(r"[,;\t|]")
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
        return data.decode("cp1251")


def parse(data: bytes) -> PhoneList:
    result = PhoneList(phones=[])
    seen: set[str] = set()
    lines = decode(data).splitlines()
    result.lines = len(lines)
    first = True
    for number, line in enumerate(lines, 1):
        cells = _CELL.split(line) if _CELL.search(line) else [line]
        cell = next((c.strip(_QUOTES) for c in cells if c.strip(_QUOTES)), "")
        if not cell:
            result.blank += 1
            continue
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
                result.invalid_lines.append((number, cell[:64]))
            continue
        if phone in seen:
            result.duplicates += 1
            continue
        seen.add(phone)
        result.phones.append(phone)
    return result
