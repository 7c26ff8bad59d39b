"""smsgate/core/numbering.py against the library it is built from.

What must hold, over numbers of every calling code:
- no refusal of a real number: every number `phonenumbers.is_valid_number` accepts passes,
  unless phonenumbers had to rewrite it to read it (below);
- no acceptance of an impossible one: every number that passes is one
  `phonenumbers.is_possible_number` accepts;
- the precomputed table answers exactly as the patterns it is built from.

What differs, and why:
- smsgate checks each region's *general* pattern and possible lengths, not its number types:
  a number in the general pattern but in no type (an unassigned US area code, say) passes
  where `is_valid_number` says no. That is the "could exist" question, and what keeps the
  check at a dict lookup. The test counts these and only bounds them loosely.
- `phonenumbers.parse` rewrites some numbers before validating: it drops a trunk prefix or
  carrier code written after the calling code (+241 0 60312341 for Gabon, +55 0 43... for
  Brazil), or applies a national prefix rule (+378 971055 becomes 0549 971055). smsgate sends
  the digits it was given, so it judges those digits: such a number passes only in the form
  phonenumbers rewrites it to.
"""

from __future__ import annotations

import random

import phonenumbers
import pytest

from smsgate.core import numbering
from smsgate.core.numbering import MAX_DIGITS, MIN_DIGITS, calling_codes, could_exist

DIGITS = "0123456789"


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def _generated() -> list[str]:
    """Every example number of every region and type, each with a few variations of its last
    digits and of its length, and random numbers of every length under every calling code."""
    rng = random.Random(21)
    found: set[str] = set()
    examples = [
        phonenumbers.example_number_for_type(region, kind)
        for region in sorted(phonenumbers.SUPPORTED_REGIONS)
        for kind in range(12)  # PhoneNumberType FIXED_LINE .. VOICEMAIL
    ]
    examples += [
        phonenumbers.example_number_for_non_geo_entity(code)
        for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)
    ]
    for example in filter(None, examples):
        digits = _e164(example)
        found.add(digits)
        for _ in range(3):
            k = rng.randint(1, 4)
            found.add(digits[:-k] + "".join(rng.choices(DIGITS, k=k)))
        found.add(digits + rng.choice(DIGITS))
        found.add(digits[:-1])
    for code in phonenumbers.supported_calling_codes():
        for length in range(MIN_DIGITS, MAX_DIGITS + 1):
            rest = length - len(str(code))
            found.add(str(code) + "".join(rng.choices(DIGITS, k=rest)))
    for code in (999, 210, 801, 42, 0):  # calling codes nobody has
        found.add(str(code) + "".join(rng.choices(DIGITS, k=8)))
    return sorted(d for d in found if MIN_DIGITS <= len(d) <= MAX_DIGITS and d[0] != "0")


NUMBERS = _generated()


def _parsed(digits: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return None


def test_enough_numbers_of_enough_countries() -> None:
    assert len(NUMBERS) > 5000
    codes = {p.country_code for d in NUMBERS if (p := _parsed(d)) is not None}
    assert len(codes) > 200


def test_agrees_with_phonenumbers_where_it_must() -> None:
    refused_valid, accepted_impossible, looser = [], [], []
    for digits in NUMBERS:
        parsed = _parsed(digits)
        ours = could_exist(digits)
        valid = parsed is not None and phonenumbers.is_valid_number(parsed)
        possible = parsed is not None and phonenumbers.is_possible_number(parsed)
        if valid and not ours:
            assert parsed is not None
            rewritten = _e164(parsed)
            if rewritten == digits or not could_exist(rewritten):
                refused_valid.append(digits)
        if ours and not possible:
            accepted_impossible.append(digits)
        if ours and not valid:
            looser.append(digits)
    assert refused_valid == []
    assert accepted_impossible == []
    accepted = sum(map(could_exist, NUMBERS))
    assert len(looser) < accepted * 0.15, (len(looser), accepted)  # ~9% on this sample


def test_the_cases_named_in_the_docstring() -> None:
    assert not could_exist("9991234567")  # no calling code 999
    assert not could_exist("1234567")  # +1 numbers have ten national digits
    assert could_exist("12015550123")  # a US example number
    assert could_exist("19991234567")  # +1 999: in the general pattern, in no number type
    assert not phonenumbers.is_valid_number(phonenumbers.parse("+19991234567"))
    assert not could_exist("241060312341")  # Gabon with its trunk 0 after the calling code,
    assert phonenumbers.is_valid_number(phonenumbers.parse("+241060312341"))  # read without it
    assert could_exist("24160312341")  # the number as phonenumbers reads it


def _reference(digits: str, codes: dict[str, list[numbering.Region]]) -> bool:
    """The question the table answers, asked of the patterns directly."""
    for n in (1, 2, 3):
        regions = codes.get(digits[:n])
        if regions is not None:
            national = digits[n:]
            return any(
                len(national) in r.lengths and r.match(national) is not None for r in regions
            )
    return False


def test_the_table_answers_as_the_patterns() -> None:
    """Random numbers under every first-level key, deeper key and calling code."""
    codes = calling_codes()
    rng = random.Random(7)
    prefixes = set(numbering.prepare())
    deeper = list(numbering.DEEPER.items())
    while deeper:
        key, entry = deeper.pop()
        prefixes.add(key)
        if isinstance(entry, dict):
            deeper.extend(entry.items())
    prefixes.update(codes)
    checked = 0
    for prefix in sorted(prefixes):
        for length in range(max(MIN_DIGITS, len(prefix)), MAX_DIGITS + 1):
            for _ in range(2):
                digits = prefix + "".join(rng.choices(DIGITS, k=length - len(prefix)))
                assert could_exist(digits) == _reference(digits, codes), digits
                checked += 1
    assert checked > 100_000


@pytest.mark.parametrize(
    "pattern",
    [r"\d{4}(?!1)", r"[^1]\d", r"1\d*", r"\D"],
)
def test_a_pattern_outside_the_known_syntax_is_refused(pattern: str) -> None:
    """The probes rely on the metadata's small regex syntax: anything else fails loudly."""
    with pytest.raises(ValueError, match="unexpected syntax"):
        numbering.Region(pattern, (4,))
