"""Kcell SMSGW2's codes in canonical terms: its error code table and its DR status words.

From the seed (`seeds/kcell-smsgw2-rest.txt`, "Справочник кодов ошибок" and "Статусы в отчетах о
доставке"). Most codes are the SMSC's SMPP errors passed through. At submit time a code that
says the provider could not take the message now (its links, its queue, a throttle) is
retryable; a fault of the message or the subscriber is final.
"""

from __future__ import annotations

from ...core.errors import ErrorCode
from ...core.status import Status

DUPLICATE = 23  # the client_message_id is taken: the provider has the message already

ERRORS: dict[int, ErrorCode] = {
    1: ErrorCode.UNKNOWN_SUBSCRIBER,  # subscriber not found / message length invalid
    2: ErrorCode.BAD_REQUEST,  # command length is invalid
    3: ErrorCode.BAD_REQUEST,  # invalid command ID
    4: ErrorCode.UNAVAILABLE,  # incorrect BIND status: the provider's link, not the message
    5: ErrorCode.UNAVAILABLE,  # ESME already in bound state
    6: ErrorCode.INVALID_FIELD,  # invalid priority flag
    7: ErrorCode.INVALID_FIELD,  # invalid registered delivery flag
    8: ErrorCode.SYSTEM_ERROR,  # system error (possibly wrong subscriber MSISDN)
    9: ErrorCode.CARRIER_REJECTED,  # subscriber ported to another operator
    10: ErrorCode.SENDER_NOT_ALLOWED,  # invalid sender / source address
    11: ErrorCode.INVALID_PHONE,  # invalid recipient (format should be 7xxxYYYzzzz)
    12: ErrorCode.CARRIER_REJECTED,  # equipment does not support SMS / message ID invalid
    13: ErrorCode.UNAVAILABLE,  # bind failed
    14: ErrorCode.UNAVAILABLE,  # invalid password
    15: ErrorCode.UNAVAILABLE,  # invalid system ID
    16: ErrorCode.ABSENT_SUBSCRIBER,  # MSC record not found in HLR
    17: ErrorCode.SYSTEM_ERROR,  # cancel_sm failed
    18: ErrorCode.NETWORK_ERROR,  # provider did not respond; the SMS may still be delivered
    19: ErrorCode.SYSTEM_ERROR,  # replace_sm failed
    20: ErrorCode.THROTTLED,  # message queue full
    21: ErrorCode.INVALID_FIELD,  # invalid service type
    22: ErrorCode.EXPIRED,  # message expired
    23: ErrorCode.DUPLICATE,  # duplicate client_message_id
    24: ErrorCode.INVALID_FIELD,  # time bound not allowed for the sender
    25: ErrorCode.INVALID_FIELD,  # wrong time_bounds
    26: ErrorCode.SYSTEM_ERROR,  # internal error: wrong SMPP account
    27: ErrorCode.ABSENT_SUBSCRIBER,  # phone off, out of coverage, or SIM memory full
    28: ErrorCode.BLOCKED_SUBSCRIBER,  # SMS service not activated
    29: ErrorCode.BLOCKED_SUBSCRIBER,  # subscriber blocked
    30: ErrorCode.BLOCKED_SUBSCRIBER,  # banned from receiving SMS
    31: ErrorCode.ABSENT_SUBSCRIBER,  # subscriber busy for MT-SMS
    32: ErrorCode.MEMORY_FULL,  # SIM memory full
    33: ErrorCode.BLOCKED_SUBSCRIBER,  # cannot receive SMS (balance, operator's service)
    34: ErrorCode.CARRIER_REJECTED,  # black list / no routing for the number (MNP)
    35: ErrorCode.CARRIER_REJECTED,  # no MNP support for this sender
    36: ErrorCode.CARRIER_REJECTED,  # no context support for this sender (roaming)
    37: ErrorCode.NETWORK_ERROR,  # subscriber migrating (MNP): try again in 4 hours
    51: ErrorCode.INVALID_FIELD,  # invalid number of destinations
    52: ErrorCode.INVALID_FIELD,  # invalid distribution list name
    64: ErrorCode.INVALID_FIELD,  # destination flag invalid (submit_multi)
    66: ErrorCode.INVALID_FIELD,  # invalid submit with replace request
    67: ErrorCode.INVALID_FIELD,  # invalid esm_class
    68: ErrorCode.INVALID_FIELD,  # invalid submit to distribution list
    69: ErrorCode.SYSTEM_ERROR,  # submit_sm or submit_multi failed
    72: ErrorCode.SENDER_NOT_ALLOWED,  # invalid source address TON
    73: ErrorCode.SENDER_NOT_ALLOWED,  # invalid source address NPI
    80: ErrorCode.INVALID_PHONE,  # invalid destination address TON
    81: ErrorCode.INVALID_PHONE,  # invalid destination address NPI
    83: ErrorCode.INVALID_FIELD,  # invalid system_type
    84: ErrorCode.INVALID_FIELD,  # invalid replace_if_present flag
    85: ErrorCode.INVALID_FIELD,  # invalid number of messages
    88: ErrorCode.THROTTLED,  # throttling error: message limits exceeded
    97: ErrorCode.BAD_SCHEDULE,  # invalid scheduled delivery time
    98: ErrorCode.BAD_VALIDITY,  # invalid validity period
    99: ErrorCode.INVALID_FIELD,  # predefined message invalid or not found
    100: ErrorCode.NETWORK_ERROR,  # ESME receiver temporary error
    101: ErrorCode.CARRIER_REJECTED,  # ESME receiver permanent error
    102: ErrorCode.CARRIER_REJECTED,  # ESME receiver reject message error
    103: ErrorCode.SYSTEM_ERROR,  # query_sm failed
    192: ErrorCode.INVALID_FIELD,  # error in the optional part of the PDU body
    193: ErrorCode.INVALID_FIELD,  # TLV not allowed
    194: ErrorCode.INVALID_FIELD,  # invalid parameter length
    195: ErrorCode.INVALID_FIELD,  # expected TLV missing
    196: ErrorCode.INVALID_FIELD,  # invalid TLV value
    254: ErrorCode.NETWORK_ERROR,  # transaction delivery failure
    255: ErrorCode.SYSTEM_ERROR,  # unknown error
    10012: ErrorCode.BAD_SCHEDULE,  # `schedule` not on a 15-minute step (the seed's `schedule`)
}

# The seed's texts of the codes a 400 answer names only in words (`{"error_message": ...}`).
TEXTS: dict[str, int] = {
    "duplicate client_message_id": 23,
    "invalid recipient": 11,
    "invalid sender": 10,
    "can't use alias": 10,  # the seed's example: "User can't use alias SMSGW to send messages"
    "message queue full": 20,
    "throttling error": 88,
    "message length is invalid": 1,
}

# status word -> (canonical status, error where the code does not say)
STATUSES: dict[str, tuple[Status, ErrorCode | None]] = {
    "NEW": (Status.SUBMITTED, None),  # not yet sent to the operator's network
    "SENT": (Status.SUBMITTED, None),
    "EN_ROUTE": (Status.SUBMITTED, None),
    "DELIVERED": (Status.DELIVERED, None),
    "FAILED": (Status.UNDELIVERED, ErrorCode.SYSTEM_ERROR),  # the SMSC's internal error
    "EXPIRED": (Status.EXPIRED, ErrorCode.EXPIRED),
    "UNDELIVERABLE": (Status.UNDELIVERED, ErrorCode.CARRIER_REJECTED),  # the code says why
    # Read by customer service on the subscriber's behalf (SMPP ACCEPTD): the provider's
    # final word and no failure; counted as delivered.
    "ACCEPTED": (Status.DELIVERED, None),
    "INVALID": (Status.UNDELIVERED, ErrorCode.SYSTEM_ERROR),  # the SMSC's internal error
    "REJECTED": (Status.REJECTED, ErrorCode.CARRIER_REJECTED),  # the operator refused it
    "DELETED": (Status.UNDELIVERED, ErrorCode.CARRIER_REJECTED),  # deleted at the provider
}


def error_of(code: int | None) -> ErrorCode:
    """The canonical error for a code of the seed's table (an unknown one: rejected)."""
    return ERRORS.get(code, ErrorCode.CARRIER_REJECTED) if code else ErrorCode.CARRIER_REJECTED


def code_in_text(text: str) -> int | None:
    """The seed's code a 400 answer's `error_message` names in words, if any."""
    lowered = text.lower()
    return next((code for words, code in TEXTS.items() if words in lowered), None)


def status_of(word: str, code: int | None) -> tuple[Status, ErrorCode | None]:
    """A status word (and its error code) in canonical terms; an unknown word: on its way."""
    status, default = STATUSES.get(word.strip().upper(), (Status.SUBMITTED, None))
    if not status.is_final or status is Status.DELIVERED:
        return status, None
    return status, (ERRORS.get(code, default) if code else default)
