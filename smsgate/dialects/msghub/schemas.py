"""JSONv2 request and response bodies (msgspec Structs; field order as in the seed).

Reports also carry `msg_status` beside `msghub_status` (the same number; for a failed campaign
entry, its error code): MTS-Belarus clients read that name. It is additive: no seed field moves.

Requests are decoded leniently (`strict=False`: "300" for 300, "true" for true) and unknown
fields are ignored, as the provider does. Mandatory fields default to None here so that the
dialect can name the missing one in its own error.
"""

from __future__ import annotations

from typing import Any

import msgspec


class SmsOptions(msgspec.Struct, kw_only=True):
    text: str | None = None
    alpha_name: str | None = None
    ttl: int | None = None


class ChannelOptions(msgspec.Struct, kw_only=True):
    sms: SmsOptions | None = None


class Bounds(msgspec.Struct, kw_only=True):
    """`sms_cyrillic` / `sms_latin` of a broadcast: allowed length of each rendered text."""

    min: int | None = None
    max: int | None = None


class Common(msgspec.Struct, kw_only=True):
    callback_url: str | None = None
    start_time: str | None = None
    tag: str | None = None
    is_promotional: bool | None = None
    ctr: bool | None = None
    channels: list[str] | str | None = None
    channel_options: ChannelOptions | None = None


class SimpleRequest(Common, kw_only=True):
    phone_number: int | str | None = None
    extra_id: str | int | None = None


class BatchMessage(msgspec.Struct, kw_only=True):
    phone_number: int | str | None = None
    extra_id: str | int | None = None
    text: str | None = None


class BulkRequest(Common, kw_only=True):
    """Batch (`messages`) and broadcast (`recipients`) share one shape; the path decides."""

    messages: list[BatchMessage] | None = None
    recipients: list[dict[str, Any]] | None = None
    sms_cyrillic: Bounds | None = None
    sms_latin: Bounds | None = None


class OlderRequest(BulkRequest, kw_only=True):
    """The older `/{client_id}` path: a batch or broadcast, or one message with a top-level
    `phone_number` (legacy Hyber clients), which is answered as `json2/simple` answers."""

    phone_number: int | str | None = None
    extra_id: str | int | None = None


# Responses ------------------------------------------------------------------------------------


class SendResponse(msgspec.Struct):
    message_id: str


class JobResponse(msgspec.Struct):
    job_id: str


class SyncItem(msgspec.Struct, kw_only=True, omit_defaults=True):
    processed: bool
    phone_number: str
    message_id: str | None = None
    extra_id: str | None = None
    accepted: bool
    error_code: int | None = None
    error_text: str | None = None


class SyncResponse(msgspec.Struct):
    messages: list[SyncItem]


class JobItem(msgspec.Struct, kw_only=True, omit_defaults=True):
    time: int
    phone_number: str
    message_id: str | None = None
    extra_id: str | None = None
    processed: bool
    accepted: bool
    total_sms_parts: int | None = None
    delivered_sms_parts: int | None = None
    status_text: str | None = None
    status: int | None = None
    substatus: int | None = None
    msghub_status: int | None = None
    msg_status: int | None = None
    error_text: str | None = None
    error_code: int | None = None


class JobReport(msgspec.Struct):
    messages: list[JobItem]


class SimpleDr(msgspec.Struct, kw_only=True, omit_defaults=True):
    phone_number: str
    last_partner: str
    message_id: str
    extra_id: str | None = None
    time: int
    status: int
    substatus: int | None = None
    msghub_status: int | None = None
    msg_status: int | None = None
    total_sms_parts: int | None = None
    delivered_sms_parts: int | None = None


class AdvancedEntry(msgspec.Struct, kw_only=True, omit_defaults=True):
    phone_number: str
    message_id: str
    extra_id: str | None = None
    time: int
    last_partner: str
    status: int
    substatus: int | None = None
    msghub_status: int | None = None
    msg_status: int | None = None
    total_sms_parts: int | None = None
    delivered_sms_parts: int | None = None


class ChannelTtl(msgspec.Struct):
    channel: str
    ttl: int


class AdvancedDr(msgspec.Struct, kw_only=True):
    reports: list[AdvancedEntry]
    started: bool
    processing: bool
    delivered_via: str
    channels: list[ChannelTtl]


class PushReport(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One DR pushed to `callback_url`: `number` is a JSON number when pushed alone and a string
    inside a batched array, exactly as the seed's two examples show."""

    number: int | str
    time: int
    status: int
    substatus: int
    msghub_status: int
    msg_status: int
    message_id: str
    extra_id: str | None = None
    sent_via: str


encode = msgspec.json.Encoder().encode
simple_decoder = msgspec.json.Decoder(SimpleRequest, strict=False)
bulk_decoder = msgspec.json.Decoder(BulkRequest, strict=False)
older_decoder = msgspec.json.Decoder(OlderRequest, strict=False)
