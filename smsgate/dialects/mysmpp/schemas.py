"""JSON request bodies (msgspec): lenient about numbers vs strings, strict about shapes."""

from __future__ import annotations

import msgspec

from .model import Batch, Credentials, Parsed, Recipient

Scalar = str | int


class PhoneIn(msgspec.Struct):
    phone: Scalar | None = None
    client_id_sms: Scalar | None = None
    validity_period: str | None = None
    time_send: str | None = None


class MessageIn(msgspec.Struct):
    type_send_1: str | None = None
    type: str | None = None
    sender: Scalar | None = None
    text: Scalar | None = None
    phones: list[PhoneIn | Scalar] | PhoneIn | Scalar | None = None


class RequestIn(msgspec.Struct):
    login: Scalar | None = None
    password: Scalar | None = None
    token: Scalar | None = None
    message: list[MessageIn] | MessageIn | None = None
    id_sms: list[Scalar] | Scalar | None = None
    detail: Scalar | bool | None = None


_decoder = msgspec.json.Decoder(RequestIn | list[RequestIn])


def _s(value: Scalar | None) -> str | None:
    return None if value is None else str(value)


def ids(value: list[Scalar] | Scalar | None) -> list[str | int] | None:
    """id_sms as a list: one number, a list, or a comma-separated string."""
    if value is None:
        return None
    if isinstance(value, list):
        return list(value)
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [value]


def truthy(value: Scalar | bool | None) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def parse(body: bytes) -> Parsed:
    """Raises msgspec.DecodeError / ValidationError / ValueError on a malformed document."""
    raw = _decoder.decode(body)
    if isinstance(raw, list):
        if len(raw) != 1:
            raise ValueError("expected one request object")
        raw = raw[0]
    creds = Credentials(login=_s(raw.login), password=_s(raw.password), token=_s(raw.token))
    batches = None
    if raw.message is not None:
        messages = raw.message if isinstance(raw.message, list) else [raw.message]
        batches = [_batch(m) for m in messages]
    return Parsed(creds, batches=batches, id_sms=ids(raw.id_sms), detail=truthy(raw.detail))


def _batch(m: MessageIn) -> Batch:
    phones = m.phones if isinstance(m.phones, list) else [] if m.phones is None else [m.phones]
    return Batch(
        type_send_1=m.type_send_1,
        type=m.type,
        sender=m.sender,
        text=m.text,
        recipients=[
            Recipient(p.phone, p.client_id_sms, p.validity_period, p.time_send)
            if isinstance(p, PhoneIn)
            else Recipient(p)
            for p in phones
        ],
    )


def from_params(values: dict[str, str]) -> Parsed:
    """A form body or query string (GET): credentials, id_sms and detail only."""
    return Parsed(
        Credentials(
            login=values.get("login") or values.get("user"),
            password=values.get("password") or values.get("pwd"),
            token=values.get("token"),
        ),
        id_sms=ids(values.get("id_sms") or values.get("smsid")),
        detail=truthy(values.get("detail")),
    )
