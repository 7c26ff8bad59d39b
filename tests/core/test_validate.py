from __future__ import annotations

import msgspec
import pytest

from smsgate.core import validate
from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.core.models import Account, Alike, Message, Submission
from smsgate.core.status import Status
from smsgate.core.validate import Limits, build_message, build_messages
from smsgate.dialects.native import parse

NOW = 1_800_000_000.0
ACCOUNT = Account(
    id=7, name="acme", price=500_000, senders=["ACME"], settings={"default_sender": "ACME"}
)


def build(limits: Limits | None = None, **fields: object) -> object:
    item = Submission(**{"phone": "+79651111111", "text": "hello", **fields})  # type: ignore[arg-type]
    return build_message(ACCOUNT, "native", item, NOW, limits or Limits())


def test_priced_segmented_and_queued() -> None:
    m = build(text="é" * 71)
    assert m.phone == "79651111111"  # type: ignore[attr-defined]
    assert m.encoding == "gsm7" and m.segments == 1  # type: ignore[attr-defined]
    m = build(text="ж" * 71)
    assert (m.encoding, m.segments, m.price) == ("ucs2", 2, 1_000_000)  # type: ignore[attr-defined]
    assert m.status is Status.QUEUED and m.sender == "ACME"  # type: ignore[attr-defined]
    assert m.expires_at == NOW + 86400  # type: ignore[attr-defined]


def test_scheduled() -> None:
    m = build(not_before=NOW + 3600, ttl=600)
    assert m.status is Status.SCHEDULED and m.not_before == NOW + 3600  # type: ignore[attr-defined]
    assert m.expires_at == NOW + 3600 + 600  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"phone": "not a phone"}, ErrorCode.INVALID_PHONE),
        ({"text": ""}, ErrorCode.EMPTY_TEXT),
        ({"text": "   "}, ErrorCode.EMPTY_TEXT),
        ({"text": "a" * (153 * 10 + 1)}, ErrorCode.TEXT_TOO_LONG),
        ({"sender": "OTHER"}, ErrorCode.SENDER_NOT_ALLOWED),
        ({"not_before": NOW - 7200}, ErrorCode.BAD_SCHEDULE),
        ({"not_before": NOW + 31 * 86400}, ErrorCode.BAD_SCHEDULE),
        ({"ttl": 0}, ErrorCode.BAD_VALIDITY),
        ({"ttl": 8 * 86400}, ErrorCode.BAD_VALIDITY),
        ({"expires_at": NOW - 1}, ErrorCode.BAD_VALIDITY),
    ],
)
def test_refusals(fields: dict[str, object], code: ErrorCode) -> None:
    with pytest.raises(GatewayError) as err:
        build(**fields)
    assert err.value.code is code


def test_part_limit_boundary() -> None:
    assert build(text="a" * 153 * 10).segments == 10  # type: ignore[attr-defined]
    with pytest.raises(GatewayError):
        build(Limits(max_parts=1), text="a" * 161)


def test_a_request_builds_as_its_recipients_would_one_by_one() -> None:
    """Recipients share a checked template only where every option they carry is the same."""
    items = [
        Submission(phone="+79651111111", text="hello"),
        Submission(phone="+79651111112", text="hello", tag="b", priority=3),
        Submission(phone="+79651111113", text="ж" * 71, ttl=600, callback_url="https://x.test/cb"),
        Submission(phone="bad", text="hello"),
        Submission(phone="+79651111114", text="hello", sender="OTHER"),
        Submission(phone="+79651111115", text="hello", not_before=NOW + 3600, meta={"k": 1}),
        Submission(phone="+79651111116", text=" ", sender="OTHER"),
        Submission(phone="+79651111117", text="hello", flash=True, confidential=True),
    ]
    together = build_messages(ACCOUNT, "native", items, NOW, Limits(), job_id="job")
    for item, built in zip(items, together, strict=True):
        try:
            alone: object = build_message(ACCOUNT, "native", item, NOW, Limits(), job_id="job")
        except GatewayError as exc:
            assert isinstance(built, GatewayError) and built.code is exc.code
            continue
        assert isinstance(built, Message) and isinstance(alone, Message)
        assert built == msgspec.structs.replace(alone, id=built.id)
    codes = [b.code if isinstance(b, GatewayError) else None for b in together]
    assert codes[3:7] == [
        ErrorCode.INVALID_PHONE,
        ErrorCode.SENDER_NOT_ALLOWED,
        None,
        ErrorCode.EMPTY_TEXT,
    ]
    assert len({b.id for b in together if isinstance(b, Message)}) == 5


def _one_by_one(items: list[Submission], limits: Limits) -> list[object]:
    out: list[object] = []
    for item in items:
        try:
            out.append(build_message(ACCOUNT, "native", item, NOW, limits, job_id="job"))
        except GatewayError as exc:
            out.append(exc.code)
    return out


_ODD: list[dict[str, object]] = [
    {},  # every recipient alike
    {"phone": "bad"},
    {"phone": "+10000000000"},  # cannot exist
    {"text": ""},
    {"text": " \n "},
    {"text": "a\x00b"},
    {"client_ref": "r\x00"},
    {"text": "ж" * 20},  # UCS-2 among GSM texts
    {"text": "€" * 81},  # two parts, perhaps
    {"text": "a" * 200},
    {"sender": "OTHER"},
    {"priority": 5},
    {"meta": {"k": 1}},  # an equal meta, but another object
    {"encoding": "hlr", "text": ""},
    {"price": 7},
]


@pytest.mark.parametrize("odd", _ODD)
@pytest.mark.parametrize("common_text", ["Dear %s, hello", "Уважаемый %s, привет"])
def test_a_bulk_builds_as_its_recipients_would_one_by_one(
    odd: dict[str, object], common_text: str
) -> None:
    """A bulk of one template (the native bulk's shape: one Submission, each recipient's
    phone, text and reference replaced), with one recipient unlike the others: every
    recipient is what it would be alone, refusals with the same code."""
    common = Submission(phone="", text="", meta={"k": 1}, tag="t", ttl=600)
    items = [
        msgspec.structs.replace(
            common, phone=f"+7965{i:07d}", text=common_text % f"client {i}", client_ref=f"r{i}"
        )
        for i in range(300)
    ]
    items[150] = msgspec.structs.replace(items[150], **odd)
    limits = Limits(max_text_chars=150)
    together = build_messages(ACCOUNT, "native", items, NOW, limits, job_id="job")
    alone = _one_by_one(items, limits)
    for built, expected in zip(together, alone, strict=True):
        if isinstance(built, GatewayError):
            assert built.code is expected
        else:
            assert isinstance(expected, Message)
            assert built == msgspec.structs.replace(expected, id=built.id)
    assert len({b.id for b in together if isinstance(b, Message)}) == sum(
        isinstance(b, Message) for b in together
    )


def test_a_bulk_of_one_template_is_shaped_all_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its texts differ (each is personalised), so shaping them one by one cost ~1 us a
    recipient: they are shaped together (segments.shape_all), not once each."""
    calls: list[str] = []
    shape = validate.shape
    monkeypatch.setattr(validate, "shape", lambda text: calls.append(text) or shape(text))
    items = [Submission(phone=f"+7965{i:07d}", text=f"Dear client {i}") for i in range(1000)]
    built = build_messages(ACCOUNT, "native", items, NOW, Limits(), job_id="job")
    assert all(isinstance(m, Message) and m.segments == 1 for m in built)
    assert calls == []


def test_alike_submissions_are_not_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    """Submissions made from one (`Alike`: the native bulk's parse makes them) skip the
    comparison of their shared fields and build as the same plain list does."""
    body = {"text": "Dear %name%", "from": "ACME", "tag": "t", "ttl": 600}
    recipients = [{"to": f"+7965{i:07d}", "vars": {"name": f"n{i}"}} for i in range(300)]
    req = parse.decode(parse.bulk_decoder, msgspec.json.encode({**body, "recipients": recipients}))
    items = parse.many(req)
    assert type(items) is Alike
    plain = build_messages(ACCOUNT, "native", list(items), NOW, Limits(), job_id="job")
    monkeypatch.setattr(validate, "_share", lambda *_: pytest.fail("compared"))
    alike = build_messages(ACCOUNT, "native", items, NOW, Limits(), job_id="job")
    unnamed = [msgspec.structs.replace(m, id="") for m in alike if isinstance(m, Message)]
    assert unnamed == [msgspec.structs.replace(m, id="") for m in plain if isinstance(m, Message)]
    assert len(unnamed) == 300
