"""`rn_code`: the MNC of a Kazakh number's operator, from the numbering plan (no MNP lookup)."""

from __future__ import annotations

# DEF code (after the country code 7) -> MNC as the seed lists them:
# 01 Beeline, 02 Kcell, 07 Altel, 77 Tele2.
DEF_CODES: dict[str, str] = {
    "700": "07",
    "701": "02",
    "702": "02",
    "705": "01",
    "706": "01",
    "707": "77",
    "708": "07",
    "747": "77",
    "771": "01",
    "775": "02",
    "776": "01",
    "777": "01",
    "778": "02",
}


def rn_code(phone: str) -> str | None:
    """The operator code of an E.164 number (digits), or None outside Kazakhstan's mobile plan."""
    if len(phone) == 11 and phone[0] == "7":
        return DEF_CODES.get(phone[1:4])
    return None
