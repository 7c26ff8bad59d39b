"""Requests as the platform reads them: a JSON or XML document (or a form, or a query string)
into one Parsed request, and each phone of a send into a core Submission or the provider's
per-phone error text."""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

import msgspec
from starlette.requests import Request

from ...core.models import Account, Submission
from ...core.validate import Limits
from ..http import media_type, params
from . import errors as E
from . import xmlio
from .errors import MysmppError, PhoneError, format_error
from .schemas import Batch, Credentials, MessageIn, Parsed, PhoneIn, Recipient, RequestIn, Scalar
from .times import parse_local

MAX_CLIENT_ID = 64  # characters of client_id_sms (the provider says Int; we keep it as text)
MAX_SENDER_DIGITS = 15
MAX_SENDER_ALPHA = 11
MAX_PHONE_DIGITS = 15
_PHONE_STRIP = str.maketrans("", "", " -().\t\u00a0")
_decoder = msgspec.json.Decoder(RequestIn | list[RequestIn])
GET_API_LIFETIME = 2 * 86400.0  # the HTTP GET page: "SMS lifetime (default 2 days)"


@dataclass(frozen=True)
class Lifetime:
    """How one API reads a phone's times: its syntax (for the error text) and the lifetime of
    a message without a usable validity_period (capped by the core's longest). JSON and XML:
    "If not set, the SMS has a maximum lifetime" (the seed): the core's longest; the GET API:
    its own page's 2 days."""

    xml: bool
    default: float


async def parse_json(request: Request, body: bytes) -> Parsed:
    """The JSON API's request: a JSON document, a form, or (with no body) the query string."""
    if not body.strip():
        if "login" in request.query_params or "token" in request.query_params:
            return from_params(dict(request.query_params))
        raise MysmppError(E.NO_POST_DATA)
    if _looks_like_form(request, body):
        try:
            values = await params(request, body)
        except Exception:  # a broken multipart body is the client's malformed document
            raise format_error(xml=False) from None
        return from_params(values)
    try:
        return json_document(body)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError, RecursionError):
        # RecursionError: msgspec gives up on a document nested ~1,000 levels deep.
        raise format_error(xml=False) from None


def parse_xml(body: bytes) -> Parsed:
    """The XML API's request document."""
    if not body.strip():
        raise MysmppError(E.NO_POST_DATA)
    try:
        return xml_document(body)
    except xmlio.XmlFormatError:
        raise format_error(xml=True) from None


def _looks_like_form(request: Request, body: bytes) -> bool:
    kind = media_type(request)
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return not body.lstrip().startswith((b"{", b"["))
    return False


# JSON -----------------------------------------------------------------------------------------
def json_document(body: bytes) -> Parsed:
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
        batches = [_json_batch(m) for m in messages]
    return Parsed(creds, batches=batches, id_sms=ids(raw.id_sms), detail=truthy(raw.detail))


def _json_batch(m: MessageIn) -> Batch:
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
        _param_credentials(values),
        id_sms=ids(values.get("id_sms") or values.get("smsid")),
        detail=truthy(values.get("detail")),
    )


def get_request(values: dict[str, str]) -> Parsed:
    """The HTTP GET API (`/sendsms.php`): `smsid` asks for a state; otherwise `sadr`, `dadr`
    (phones separated by commas) and `text` are a send of one text to each phone."""
    creds = _param_credentials(values)
    smsid = values.get("smsid")
    if smsid is not None:
        return Parsed(creds, id_sms=[smsid.strip()])
    dadr = values.get("dadr") or ""
    phones: list[str | None] = [p.strip() for p in dadr.split(",") if p.strip()] or [None]
    batch = Batch(
        type_send_1=values.get("type_send_1"),
        type=values.get("type"),
        sender=values.get("sadr"),
        text=values.get("text"),
        recipients=[
            Recipient(p, None, values.get("validity_period"), values.get("time_send"))
            for p in phones
        ],
    )
    return Parsed(creds, batches=[batch])


def _param_credentials(values: dict[str, str]) -> Credentials:
    return Credentials(
        login=values.get("login") or values.get("user"),
        password=values.get("password") or values.get("pwd"),
        token=values.get("token"),
    )


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


# XML ------------------------------------------------------------------------------------------
def xml_document(body: bytes) -> Parsed:
    """Raises xmlio.XmlFormatError on a malformed document."""
    root = xmlio.load(body)
    if root.tag != "request":
        raise xmlio.XmlFormatError("the document element must be <request>")
    security = root.find("security")
    creds = Credentials(
        login=_value(security, "login"),
        password=_value(security, "password"),
        token=_value(security, "token"),
    )
    parsed = Parsed(creds, document=root)
    messages = root.findall("message")
    if messages:
        parsed.batches = [_xml_batch(m) for m in messages]
    state = root.find("get_state")
    if state is not None:
        parsed.id_sms = [(n.text or "").strip() for n in state.findall("id_sms")]
    return parsed


def _value(parent: Element | None, name: str) -> str | None:
    """`<name value="..."/>` (the documented form) or `<name>...</name>`."""
    if parent is None:
        return None
    node = parent.find(name)
    if node is None:
        return None
    value = node.get("value")
    if value is None:
        value = (node.text or "").strip()
    return value


def _child_or_attr(node: Element, name: str) -> str | None:
    value = node.get(name)
    if value is None:
        child = node.find(name)
        if child is not None:
            value = child.text or ""
    return value


def _xml_batch(node: Element) -> Batch:
    return Batch(
        type_send_1=_child_or_attr(node, "type_send_1"),
        type=node.get("type"),
        sender=_child_or_attr(node, "sender"),
        text=_child_or_attr(node, "text"),
        recipients=[
            Recipient(
                phone=a.get("phone"),
                client_id_sms=a.get("client_id_sms"),
                validity_period=a.get("validity_period"),
                time_send=a.get("time_send"),
                number_sms=a.get("number_sms"),
            )
            for a in node.findall("abonent")
        ],
    )


# The XML account requests -----------------------------------------------------------------------
def stop_changes(root: Element) -> tuple[list[str], list[str]]:
    """stop.php: the phones of `<add_stop>` and of `<delete_stop>`, each `<phone phone="…"/>`
    (or `<phone>…</phone>`), as written."""
    return _phones_of(root.find("add_stop")), _phones_of(root.find("delete_stop"))


def _phones_of(parent: Element | None) -> list[str]:
    if parent is None:
        return []
    found = (_child_or_attr(node, "phone") or node.text or "" for node in parent.iter("phone"))
    return [phone.strip() for phone in found if phone and phone.strip()]


def page_of(root: Element, name: str) -> int:
    """`<scheduled page="2"/>` (or `<scheduled><page>2</page></scheduled>`): pages count from
    one; none given is the first; anything but a positive number is a malformed document."""
    node = root.find(name)
    value = _child_or_attr(node, "page") if node is not None else None
    if value is None or not value.strip():
        return 1
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 1_000_000:
        raise format_error(xml=True)
    return int(text)


def schedule_ids(root: Element) -> list[str]:
    """scheduled.php: the id_sms of each `<schedule id_sms="…"/>` in `<delete_schedule>`."""
    parent = root.find("delete_schedule")
    if parent is None:
        return []
    found = (_child_or_attr(node, "id_sms") or "" for node in parent.iter("schedule"))
    return [value.strip() for value in found if value.strip()]


def time_window(root: Element, account: Account) -> tuple[float, float | None]:
    """incoming.php: `<time start="…" end="…"/>`, both excluded; `end` is optional and
    `start` mandatory (the provider marks it so): a missing or unreadable one is malformed."""
    node = root.find("time")
    start = _child_or_attr(node, "start") if node is not None else None
    end = _child_or_attr(node, "end") if node is not None else None
    if not start or not start.strip():
        raise format_error(xml=True)
    try:
        return parse_local(start, account), parse_local(end, account) if end else None
    except ValueError:
        raise format_error(xml=True) from None


# One phone of a send --------------------------------------------------------------------------
def phone_error(batch: Batch, r: Recipient) -> str | None:
    """The provider's per-phone text for what is wrong before submission, else None."""
    return (
        _channel_error(batch)
        or _check_phone(r.phone)
        or _check_sender(text_of(batch.sender).strip())
        or (E.NO_TEXT if not text_of(batch.text).strip() else None)
    )


def submission(
    batch: Batch, r: Recipient, account: Account, limits: Limits, now: float, lifetime: Lifetime
) -> Submission:
    """One phone as the core takes it; PhoneError for a time that cannot be read.

    Validity: a `validity_period` after the send time is kept (at most the core's longest
    lifetime after it); none, or one not after the send time, means `lifetime.default`. The
    seed's own example sends 2001-12-31: the platform sends it, so a past value is the
    default, not a refusal."""
    xml = lifetime.xml
    not_before = _when(r.time_send, account, xml)
    if not_before is not None and not_before <= now:
        not_before = None  # a time already past means "now", as the provider says of no time
    validity = _when(r.validity_period, account, xml)
    due = not_before or now
    ttl = min(lifetime.default, limits.max_ttl)
    expires_at = None
    if validity is not None and validity > due:
        expires_at = min(validity, due + limits.max_ttl)
    return Submission(
        phone=r.phone if isinstance(r.phone, int) else text_of(r.phone).strip(),
        text=text_of(batch.text),
        sender=text_of(batch.sender).strip(),
        client_ref=client_ref(r.client_id_sms, xml),
        not_before=not_before,
        expires_at=expires_at,
        ttl=None if expires_at is not None else ttl,
        flash=(batch.type or "").strip().lower() == "flashsms",
    )


def text_of(value: str | int | None) -> str:
    return "" if value is None else str(value)


def client_ref(value: str | int | None, xml: bool) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    ref = str(value).strip()
    if len(ref) > MAX_CLIENT_ID:
        raise format_error(xml)
    return ref or None


def _check_sender(sender: str) -> str | None:
    if not sender:
        return E.NO_SENDER
    digits = sender[1:] if sender.startswith("+") else sender
    if digits.isascii() and digits.isdigit():
        too_long = len(digits) > MAX_SENDER_DIGITS
    else:
        too_long = len(sender) > MAX_SENDER_ALPHA
    return E.SENDER_TOO_LONG if too_long else None


def _check_phone(phone: str | int | None) -> str | None:
    if phone is None or (isinstance(phone, str) and not phone.strip()):
        return E.NO_PHONE
    digits = str(phone).strip().translate(_PHONE_STRIP).lstrip("+")
    if digits.isascii() and digits.isdigit() and len(digits) > MAX_PHONE_DIGITS:
        return E.PHONE_TOO_LONG
    return None


def _channel_error(batch: Batch) -> str | None:
    channel = (batch.type_send_1 or "sms").strip().lower()
    if channel != "sms":
        return E.CLOSED_FOR_YOU  # Viber (and anything else) is not offered by this gateway
    kind = (batch.type or "sms").strip().lower()
    if kind in ("sms", "flashsms"):
        return None
    return E.CLOSED_FOR_YOU


def _when(value: str | None, account: Account, xml: bool) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        return parse_local(value, account)
    except ValueError:
        raise PhoneError(E.XML_FORMAT if xml else E.JSON_FORMAT) from None
