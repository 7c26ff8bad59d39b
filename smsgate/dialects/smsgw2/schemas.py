"""Response and callback bodies of SMSGW2 (msgspec Structs: field order as in the seed)."""

from __future__ import annotations

import msgspec


class Segment(msgspec.Struct, kw_only=True):
    smcsc_id: str | None
    status: str
    status_time: str | None
    error_code: str | None
    error_message: str | None


class MessageOut(msgspec.Struct, kw_only=True):
    client_message_id: str | None
    message_id: int
    batch_id: int | None
    sender: str | None
    recipient: str
    message_text: str
    priority: int
    expire_date: str | None
    time_bounds: str | None
    flash: bool
    schedule: str | None
    message_status: str
    error_code: str | None
    error_message: str | None
    segment_count: int
    sent_count: int
    delivery_count: int
    is_informed: str | None
    init_time: str | None
    sent_time: str | None
    sent_confirm_time: str | None
    status_time: str | None
    schedule_state: str | None
    retry_count: int
    rn_code: str | None
    segments: list[Segment] | msgspec.UnsetType = msgspec.UNSET


class DeliveryReport(msgspec.Struct, kw_only=True):
    client_message_id: str | None
    message_id: int
    status: str
    error_code: str | None
    error_message: str | None
    segment_count: int
    init_time: str | None
    sent_time: str | None
    sent_confirm_time: str | None
    status_time: str | None
    rn_code: str | None
    retry_count: int


class IncomingReport(msgspec.Struct, kw_only=True):
    message_id: int
    sender: str
    recipient: str
    text: str
    segment_count: int
    receive_time: str | None
    rn_code: str | None
