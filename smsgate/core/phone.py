"""Phone numbers to E.164 digits (no '+'), with a fast check for the hot path."""

from __future__ import annotations

from .errors import ErrorCode, GatewayError

_STRIP = str.maketrans("", "", " -().\t\u00a0")
MIN_DIGITS = 7
MAX_DIGITS = 15


def normalize(raw: str | int, *, trunk_8_to_7: bool = False) -> str:
    """Return E.164 digits for `raw` or raise GatewayError(INVALID_PHONE).

    Accepts a JSON number, '+', spaces, dashes, dots, parentheses and a '00' international
    prefix. With `trunk_8_to_7`, an 11-digit number starting with the RU/KZ trunk prefix 8 is
    read as +7 (the form Russian and Kazakh clients often send).
    """
    if type(raw) is str and raw[:1] == "+":  # the common case, without the clean-up below
        digits = raw[1:]
        if (
            digits.isdigit()
            and digits.isascii()
            and digits[0] != "0"
            and MIN_DIGITS <= len(digits) <= MAX_DIGITS
        ):
            return digits
    if isinstance(raw, bool):
        raise GatewayError(ErrorCode.INVALID_PHONE, "phone number must be digits")
    if isinstance(raw, int):
        digits = str(raw) if raw > 0 else ""
    elif isinstance(raw, str):
        digits = raw.strip().translate(_STRIP)
        if digits.startswith("+"):
            digits = digits[1:]
            trunk_8_to_7 = False  # '+8...' is an international number, not a trunk prefix
        elif digits.startswith("00"):
            digits = digits[2:]
            trunk_8_to_7 = False
    else:
        raise GatewayError(ErrorCode.INVALID_PHONE, "phone number must be digits")
    if not (digits.isascii() and digits.isdigit()):
        raise GatewayError(
            ErrorCode.INVALID_PHONE, f"phone number {str(raw)[:32]!r} is not a number"
        )
    if trunk_8_to_7 and len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    if digits[0] == "0" or not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise GatewayError(ErrorCode.INVALID_PHONE, f"phone number {str(raw)[:32]!r} is not valid")
    return digits


def country_of(e164: str) -> str | None:
    """ISO region code via phonenumberslite, for dialects whose rules depend on the country."""
    import phonenumbers  # imported lazily: not needed on the hot path

    try:
        parsed = phonenumbers.parse("+" + e164)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.region_code_for_number(parsed)
