"""SMS segmentation: GSM 03.38 7-bit or UCS-2, as in 3GPP TS 23.038 / 23.040.

Pure functions, no I/O. Limits:

* GSM 7-bit: one part up to 160 septets; concatenated parts carry a 6-octet UDH and hold
  153 septets each. Extension-table characters take 2 septets (ESC + code) and are never
  split across parts.
* UCS-2: one part up to 70 UTF-16 code units; concatenated parts hold 67 each. Characters
  outside the BMP (most emoji) take a surrogate pair (2 units) that is never split.

Parts are cut at code-point boundaries, as the standard allows. Grapheme clusters (ZWJ
emoji sequences, flags, a letter plus a combining mark) may therefore be split across parts;
see the note in tests/core/test_segments_oracle.py about the reference calculator, which keeps
clusters whole.

:func:`split_parts` is the one place where a text is cut into parts: billing counts its parts
here, and the SMPP connector (smsgate.smpp.concat) encodes them, with its own per-part limits
for UDH schemes and the 8-bit alphabets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

__all__ = [
    "GSM7_BASIC_TABLE",
    "GSM7_EXTENSION_TABLE",
    "GSM7_WIDE",
    "UCS2_WIDE",
    "Encoding",
    "Segmentation",
    "fit",
    "gsm7_units",
    "is_gsm7",
    "segment",
    "segment_as",
    "shape",
    "shape_all",
    "split_parts",
]

Encoding = Literal["gsm7", "ucs2"]

GSM7_SINGLE: Final = 160
GSM7_MULTI: Final = 153
UCS2_SINGLE: Final = 70
UCS2_MULTI: Final = 67

# GSM 03.38 default alphabet, in code order 0x00..0x7F (8 rows of 16). 0x1B is the escape
# to the extension table, not a character, so it is excluded from the set below.
# 0x09 is "Ç" (capital C cedilla) per the current standard; lowercase "ç" (U+00E7) is NOT in
# the alphabet (some old phones rendered 0x09 as "ç"). The reference calculator
# (npm sms-segments-calculator) agrees: it maps only U+00C7 and treats "ç" as UCS-2.
GSM7_BASIC_TABLE: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(GSM7_BASIC_TABLE) == 128

# Extension table (after ESC 0x1B): form feed, ^ { } \ [ ~ ] | €.
GSM7_EXTENSION_TABLE: Final = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

GSM7_BASIC: Final[frozenset[str]] = frozenset(GSM7_BASIC_TABLE) - {"\x1b"}
GSM7_EXTENSION: Final[frozenset[str]] = frozenset(GSM7_EXTENSION_TABLE.values())
GSM7_ALL: Final[frozenset[str]] = GSM7_BASIC | GSM7_EXTENSION

_CACHE_SIZE: Final = 8192


@dataclass(frozen=True, slots=True)
class Segmentation:
    """How a text is sent: its encoding, the text of each part, and its total size.

    ``units`` is septets for gsm7 (extension characters count 2) and UTF-16 code units for
    ucs2 (non-BMP characters count 2).
    """

    encoding: Encoding
    parts: tuple[str, ...]
    units: int

    @property
    def count(self) -> int:
        """Number of SMS parts (0 for empty text)."""
        return len(self.parts)


def is_gsm7(text: str) -> bool:
    """True if every character is in the GSM 03.38 basic or extension table."""
    # One regex scan in C: set.issuperset makes a lookup per character, 1.7x the time.
    return _NOT_GSM7_RE.search(text) is None


def gsm7_units(text: str) -> int:
    """Septets needed for ``text`` in GSM 7-bit; extension characters count 2.

    Raises ValueError if ``text`` has a character outside GSM 03.38.
    """
    if not is_gsm7(text):
        bad = sorted({c for c in text if c not in GSM7_ALL})
        raise ValueError(f"not representable in GSM 03.38: {bad!r}")
    return _gsm7_units_unchecked(text)


def _gsm7_units_unchecked(text: str) -> int:
    # Most texts have no extension character: one regex scan in C answers that.
    if _EXTENSION_RE.search(text) is None:
        return len(text)
    # str.count runs in C; ten short scans beat a Python-level loop over the text.
    return len(text) + sum(text.count(c) for c in GSM7_EXTENSION)


_EXTENSION_RE = re.compile("[" + re.escape("".join(sorted(GSM7_EXTENSION))) + "]")
_NOT_GSM7_RE = re.compile("[^" + re.escape("".join(sorted(GSM7_ALL))) + "]")
# The ASCII characters GSM 7-bit has (all but "`" and most controls), as bytes to delete: an
# ASCII text is GSM 7-bit iff deleting them leaves nothing. In C at memory speed: a bulk's
# 50,000 joined texts took the regex above 5-7 ms, this under 1.
_GSM7_ASCII = bytes(sorted(ord(c) for c in GSM7_ALL if c.isascii()))


def _all_gsm7(text: str) -> bool:
    if text.isascii():
        return not text.encode("ascii").translate(None, _GSM7_ASCII)
    return _NOT_GSM7_RE.search(text) is None


# The characters that take two units (and so are never split) in each alphabet, for
# split_parts: an extension character is ESC + code in GSM 7-bit; a character outside the BMP
# is a surrogate pair in UTF-16.
GSM7_WIDE: Final = _EXTENSION_RE
UCS2_WIDE: Final = re.compile("[\U00010000-\U0010ffff]")


def _ucs2_units(text: str) -> int:
    # UTF-16 code units; "surrogatepass" so a lone surrogate counts 1 instead of raising.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def split_parts(
    text: str, units: int, single: int, multi: int, wide: re.Pattern[str] | None = None
) -> tuple[str, ...]:
    """The text of each SMS part (none for an empty text).

    ``units`` is the text's size in its alphabet; ``single`` is what one SMS holds and
    ``multi`` what each part of a concatenated one holds. A character that ``wide`` matches
    takes 2 units and is never split; every other character takes 1. The text must be
    representable in the alphabet: this only cuts. The caller gives ``units`` because it
    has counted them already (billing to choose the encoding, sending by encoding the
    text), and a second count would cost a scan as long as the cut itself.
    """
    if units <= single:
        return (text,) if text else ()
    if units == len(text):  # no wide character: fixed-size slices
        return tuple(text[i : i + multi] for i in range(0, len(text), multi))
    if wide is None:
        raise ValueError(f"{units} units in {len(text)} characters, but none is wide")
    return _cut(text, multi, [m.start() for m in wide.finditer(text)])


def _cut(text: str, limit: int, wide_at: list[int]) -> tuple[str, ...]:
    """Greedy parts of at most ``limit`` units, wide characters at the indexes ``wide_at``.

    Steps from one wide character to the next rather than one character at a time: runs of
    1-unit characters are cut by arithmetic, so a text with few wide characters costs about
    as much as one with none.
    """
    parts: list[str] = []
    start = pos = used = 0  # current part's start, next character to place, units in part
    for w in wide_at:
        while w - pos > limit - used:  # the run of 1-unit characters before w overflows
            pos += limit - used
            parts.append(text[start:pos])
            start, used = pos, 0
        used += w - pos
        if used + 2 > limit:  # the wide character does not fit: it opens the next part
            parts.append(text[start:w])
            start, used = w, 0
        used += 2
        pos = w + 1
    while len(text) - pos > limit - used:
        pos += limit - used
        parts.append(text[start:pos])
        start, used = pos, 0
    parts.append(text[start:])
    return tuple(parts)


# Cached (bulk sends repeat one text for many recipients; Segmentation is immutable, so
# sharing it is safe). The public functions below are thin wrappers so that callers keep
# precise signatures: functools.lru_cache erases parameter types for mypy.
@lru_cache(maxsize=_CACHE_SIZE)
def _segment_as(text: str, encoding: Encoding, encoding_checked: bool = False) -> Segmentation:
    if encoding == "gsm7":
        units = gsm7_units(text) if encoding_checked is False else _gsm7_units_unchecked(text)
        if units > GSM7_SINGLE:
            return Segmentation(
                encoding, split_parts(text, units, GSM7_SINGLE, GSM7_MULTI, GSM7_WIDE), units
            )
    elif encoding == "ucs2":
        units = _ucs2_units(text)
        if units > UCS2_SINGLE:
            return Segmentation(
                encoding, split_parts(text, units, UCS2_SINGLE, UCS2_MULTI, UCS2_WIDE), units
            )
    else:
        raise ValueError(f"unknown encoding: {encoding!r}")
    # One SMS (or none): most texts. Answered here, as split_parts would, without its call,
    # which cost one-part texts 3-4% of segment()'s time.
    return Segmentation(encoding, (text,) if text else (), units)


@lru_cache(maxsize=_CACHE_SIZE)
def _segment(text: str) -> Segmentation:
    if is_gsm7(text):
        return _segment_as(text, "gsm7", True)
    return _segment_as(text, "ucs2")


def segment_as(text: str, encoding: Encoding) -> Segmentation:
    """Split ``text`` into SMS parts in the given encoding.

    Raises ValueError for gsm7 if ``text`` is not GSM 03.38, or for an unknown encoding.
    """
    return _segment_as(text, encoding)


def segment(text: str) -> Segmentation:
    """Split ``text`` into SMS parts: GSM 7-bit if every character allows it, else UCS-2."""
    return _segment(text)


def shape(text: str) -> tuple[Encoding, int]:
    """``segment(text)``'s encoding and part count, the accept path's question.

    A one-part text is answered without cutting parts or filling the cache: a bulk request
    of personalised texts has a new text for each recipient.
    """
    n = len(text)
    if n <= GSM7_SINGLE and is_gsm7(text):
        # extension characters count 2: at most 80 characters always fit one part
        if n <= GSM7_SINGLE // 2 or _gsm7_units_unchecked(text) <= GSM7_SINGLE:
            return "gsm7", 1 if text else 0
    elif n <= UCS2_SINGLE // 2 or (n <= UCS2_SINGLE and _ucs2_units(text) <= UCS2_SINGLE):
        return "ucs2", 1  # not GSM (n <= 160 here), and non-BMP characters count 2
    seg = _segment(text)
    return seg.encoding, len(seg.parts)


def shape_all(texts: Sequence[str]) -> tuple[Encoding, int] | None:
    """The one shape (``shape``'s answer) that every text of ``texts`` has, when a few scans
    of all of them together show it; None when they do not (shape them one by one then).

    For a bulk request of one template, personalised: its 50,000 texts differ, so ``shape``
    ran 50,000 times (~0.9 us each with the checks around it); these scans run in C. Answered
    here: every text GSM 7-bit of at most 80 characters (one part even if each character were
    an extension one), or every text UCS-2 of at most 70 UTF-16 units (one part).
    """
    if not texts or min(map(len, texts)) == 0:
        return None  # an empty text has no part
    longest = max(map(len, texts))
    if longest <= GSM7_SINGLE // 2 and _all_gsm7("\n".join(texts)):
        return "gsm7", 1  # "\n" is GSM 7-bit: the joined texts are iff each text is
    if longest <= UCS2_SINGLE and all(map(_NOT_GSM7_RE.search, texts)):
        joined = "".join(texts)
        if longest <= UCS2_SINGLE // 2 or _ucs2_units(joined) == len(joined):
            return "ucs2", 1  # no character takes two units: each text's units are its length
    return None


def fit(text: str, parts: int) -> str:
    """The longest start of ``text`` that ``parts`` SMS hold (a sender's cap on what one
    message may cost). The parts a start needs never decrease as it grows (GSM 7-bit always
    holds at least what UCS-2 does), so the longest one is found by bisection.
    """
    if parts < 1:
        return ""
    if shape(text)[1] <= parts:
        return text
    low, high = 0, len(text)  # the start of length `low` fits, that of `high` does not
    while high - low > 1:
        middle = (low + high) // 2
        if shape(text[:middle])[1] <= parts:
            low = middle
        else:
            high = middle
    return text[:low]
