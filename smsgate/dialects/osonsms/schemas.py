"""Response bodies (msgspec Structs, fields in the provider's order)."""

from __future__ import annotations

from decimal import Decimal

import msgspec


class SendOk(msgspec.Struct):
    status: str
    timestamp: str
    txn_id: str
    msg_id: int
    smsc_msg_id: str
    smsc_msg_status: str
    smsc_msg_parts: int


class FinalDate(msgspec.Struct):
    date: str
    timezone_type: int
    timezone: str


class StatusOk(msgspec.Struct, kw_only=True):
    """The seed's `status` and `timestamp`, then the provider's older fields, which clients
    still read (Laravel's OsonSmsService returns `message_state`); `message_id` only with the
    account's `legacy_status_fields`."""

    status: str
    timestamp: str
    message_id: str | msgspec.UnsetType = msgspec.UNSET
    final_date: FinalDate | None
    message_state_code: int
    error_code: int
    message_state: str


class BalanceOk(msgspec.Struct):
    balance: Decimal
    timestamp: str


class BulkOk(msgspec.Struct):
    status: str
    message: str
    sms_bulk_name: str
    data: BulkReport


class InvalidLine(msgspec.Struct):
    line: int
    value: str


class BulkReport(msgspec.Struct, kw_only=True):
    sms_bulk_id: str
    recipients: int  # messages created
    lines: int  # lines read from the file (header included)
    blank_lines: int
    duplicates: int  # repeats of a number already in the file, sent once
    invalid_lines: int  # lines that are not a phone number, skipped
    invalid: list[InvalidLine]  # the first of them, with line numbers
    rejected: int  # valid numbers refused (stop list)
    send_at: str | None


encoder = msgspec.json.Encoder(decimal_format="number")
