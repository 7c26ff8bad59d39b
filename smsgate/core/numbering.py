"""Which E.164 numbers can exist, from phonenumberslite's metadata, at the cost of a dict lookup.

`phonenumbers.is_valid_number` runs ~25k numbers a second: a 50,000-recipient bulk cannot pay
for it. This module asks the same metadata a coarser question, the one that refuses `+999...`
(no such calling code) and `+1234567` (too short for +1): does the number match, for some
region of its calling code, that region's general national-number pattern (libphonenumber's
"general description", the union of the region's number types), with one of the region's
possible lengths (not the local-only ones, which cannot be dialled from abroad)?

Every number `is_valid_number` accepts passes; a number inside the general pattern but in no
number type of its region passes too (an unassigned US area code, for example). Every number
that passes is one `is_possible_number` accepts. tests/core/test_phone_metadata.py holds both
to phonenumbers over numbers of every calling code.

The answer is computed once, as a table keyed by the first four digits (the calling code and
the first national digits). For nearly every key (5,425 of 5,632) those digits decide: the
entry is the set of total lengths that exist after them. A key whose answer depends on later
digits has a deeper table (keyed by five, then six digits), and below that (27 keys) the
regions' compiled patterns.
Nothing is cached per number.
"""

from __future__ import annotations

import re
from typing import Literal, TypeAlias

MIN_DIGITS = 7  # the E.164 lengths smsgate takes (smsgate/core/phone.py)
MAX_DIGITS = 15
KEY_DIGITS = 4  # the table's first level
_DEEPEST = 6  # keys still undecided at this many digits fall back to the patterns

Entry: TypeAlias = "frozenset[int] | dict[str, Entry] | Patterns"

# Filled in place by prepare(), so that a module may bind them once (smsgate/core/phone.py).
# TABLE: the four-digit keys that decide, each with the total lengths that exist after it.
# DEEPER: the four-digit keys that do not, each with its deeper table or its patterns.
TABLE: dict[str, frozenset[int]] = {}
DEEPER: dict[str, Entry] = {}

# The syntax of the metadata's national-number patterns; anything else is refused at build.
_TOKEN = re.compile(r"\\d|\[[0-9-]+\]|\{\d+(?:,\d+)?\}|\(\?:|[0-9()|?]")
_RANGE = re.compile(r"(\d)-(\d)|(\d)")
_ANY = "x"  # stands for "any digit" in the probe strings below

Verdict = Literal["all", "none", "some"]


class Region:
    """One region's general description: national lengths and pattern, and two probes.

    A probe is the pattern rewritten to take `x` for a digit: `strict` takes it only where the
    pattern takes every digit (`\\d`, a class of all ten), `wild` wherever it takes any digit.
    For a prefix followed by k x's, `strict` matching proves every completion matches (the same
    path matches each), and `wild` failing proves none does (any matching completion's path
    would take the x's). Otherwise the completions disagree and later digits must decide.
    """

    __slots__ = ("lengths", "match", "strict", "wild")

    def __init__(self, pattern: str, lengths: tuple[int, ...]) -> None:
        tokens = _TOKEN.findall(pattern)
        if "".join(tokens) != pattern:
            raise ValueError(f"unexpected syntax in the number pattern {pattern!r}")
        strict, wild = [], []
        for token in tokens:
            if token == r"\d":
                strict.append(rf"[\d{_ANY}]")
                wild.append(rf"[\d{_ANY}]")
            elif token[0] == "[":
                widened = token[:-1] + _ANY + "]"
                strict.append(widened if len(_class_digits(token)) == 10 else token)
                wild.append(widened)
            elif token.isdigit():
                strict.append(token)
                wild.append(f"[{token}{_ANY}]")
            else:
                strict.append(token)
                wild.append(token)
        self.lengths = frozenset(lengths)
        self.match = re.compile(pattern).fullmatch
        self.strict = re.compile("".join(strict)).fullmatch
        self.wild = re.compile("".join(wild)).fullmatch

    def verdict(self, prefix: str, length: int) -> Verdict:
        """Do the national numbers of `length` digits that start with `prefix` match?"""
        if length not in self.lengths:
            return "none"
        probe = prefix + _ANY * (length - len(prefix))
        if self.strict(probe):
            return "all"
        return "some" if self.wild(probe) else "none"


def _class_digits(token: str) -> set[str]:
    digits: set[str] = set()
    for low, high, single in _RANGE.findall(token[1:-1]):
        if low:
            digits.update(str(d) for d in range(int(low), int(high) + 1))
        else:
            digits.add(single)
    return digits


class Patterns:
    """The last resort for a key that six digits do not decide: the regions' own patterns."""

    __slots__ = ("code_digits", "regions")

    def __init__(self, code: str, regions: list[Region]) -> None:
        self.code_digits = len(code)
        self.regions = regions

    def __call__(self, e164: str) -> bool:
        n = self.code_digits
        national = len(e164) - n
        return any(r.match(e164, n) is not None for r in self.regions if national in r.lengths)


def calling_codes() -> dict[str, list[Region]]:
    """Each calling code (as digits) with the general description of each of its regions."""
    import phonenumbers  # imported here: only prepare() needs the metadata

    codes: dict[str, list[Region]] = {}
    for code in sorted(phonenumbers.supported_calling_codes()):
        regions = []
        for region in phonenumbers.region_codes_for_country_code(code):
            meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
            if meta is None or meta.general_desc is None:
                continue
            general = meta.general_desc
            if general.national_number_pattern and general.possible_length:
                regions.append(Region(general.national_number_pattern, general.possible_length))
        if regions:
            codes[str(code)] = regions
    return codes


def _entry(
    code: str, regions: list[Region], key: str, lengths: dict[frozenset[int], frozenset[int]]
) -> Entry | None:
    prefix = key[len(code) :]
    exists: set[int] = set()
    undecided = False
    for total in range(MIN_DIGITS, MAX_DIGITS + 1):
        verdicts = {r.verdict(prefix, total - len(code)) for r in regions}
        if "all" in verdicts:
            exists.add(total)
        elif "some" in verdicts:
            undecided = True
    if not undecided:
        found = frozenset(exists)
        return lengths.setdefault(found, found) if found else None  # one set object per value
    if len(key) >= _DEEPEST:
        return Patterns(code, regions)
    deeper = {}
    for digit in "0123456789":
        entry = _entry(code, regions, key + digit, lengths)
        if entry is not None:
            deeper[key + digit] = entry
    return deeper or None


def build(
    codes: dict[str, list[Region]] | None = None,
) -> tuple[dict[str, frozenset[int]], dict[str, Entry]]:
    """The tables for `codes` (default: every calling code of the installed metadata): the
    four-digit keys that decide, with their lengths, and the keys that need more digits."""
    codes = calling_codes() if codes is None else codes
    decided: dict[str, frozenset[int]] = {}
    deeper: dict[str, Entry] = {}
    lengths: dict[frozenset[int], frozenset[int]] = {}
    for code, regions in codes.items():
        free = KEY_DIGITS - len(code)
        for n in range(10**free):
            key = code + str(n).zfill(free)
            entry = _entry(code, regions, key, lengths)
            if type(entry) is frozenset:
                decided[key] = entry
            elif entry is not None:
                deeper[key] = entry
    return decided, deeper


def prepare() -> dict[str, frozenset[int]]:
    """Build TABLE and DEEPER if they are still empty (~0.2 s, once a process)."""
    if not TABLE:
        decided, deeper = build()
        DEEPER.update(deeper)
        TABLE.update(decided)  # last: a filled TABLE means both are ready
    return TABLE


def could_exist(e164: str) -> bool:
    """Whether E.164 digits `e164` (no '+', already format-checked) can be a real number."""
    key = e164[:KEY_DIGITS]
    lengths = (TABLE or prepare()).get(key)
    if lengths is not None:
        return len(e164) in lengths
    entry = DEEPER.get(key)
    n = KEY_DIGITS
    while type(entry) is dict:
        n += 1
        entry = entry.get(e164[:n])
    if entry is None:
        return False
    if type(entry) is frozenset:
        return len(e164) in entry
    assert isinstance(entry, Patterns)
    return entry(e164)
