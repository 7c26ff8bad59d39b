"""Generated bodies, query strings and headers against a real server's JSON, XML and GET
endpoints: never a 5xx, and every answer in the API's own shape (JSON that decodes; XML that
starts with `<?xml` and has a <response>; the GET API's bare text)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import httpx
import msgspec
from hypothesis import HealthCheck
from hypothesis import strategies as st

from tests.support.fuzz import run
from tests.support.servers import Gateway

from .conftest import Provision

JSON_PATHS = ["/json", "/json/", "/json/state.php", "/json/balance.php", "/json/x.php"]
XML_PATHS = [
    "/xml",
    "/xml/state.php",
    "/xml/balance.php",
    "/xml/originator.php",
    "/xml/incoming.php",
    "/xml/stop.php",
    "/xml/list_stop.php",
    "/xml/list_scheduled.php",
    "/xml/scheduled.php",
    "/xml/time.php",
    "/xml/version.php",
    "/xml/list_bases.php",
]
GET_PATHS = ["/sendsms.php"]
KEYS = [
    "login", "password", "token", "user", "pwd", "message", "phones", "phone", "sender", "text",
    "id_sms", "smsid", "detail", "validity_period", "time_send", "client_id_sms", "type",
    "type_send_1", "sadr", "dadr",
]  # fmt: skip
CONTENT_TYPES = [
    "text/json; charset=utf-8;",
    "application/json",
    "text/xml; charset=utf-8;",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["acme", "acme-pw", "acme-token", "ACME", "79650000001", "2001-12-31 15:34"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=5),
    ),
    max_leaves=20,
)
authenticated = st.fixed_dictionaries({"login": st.just("acme"), "password": st.just("acme-pw")})
signed_in = st.builds(
    lambda auth, rest: msgspec.json.encode({**auth, **rest}),
    authenticated,
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=4),
)
json_bodies = st.one_of(json_values.map(msgspec.json.encode), signed_in)
xml_fragments = st.sampled_from(
    [
        "<request>",
        "</request>",
        '<security><login value="acme" /><password value="acme-pw" /></security>',
        '<message type="sms"><sender>ACME</sender><text>t</text>',
        '<abonent phone="79650000001" validity_period="2001-12-31 15:34" />',
        "</message>",
        "<get_state><id_sms>99999999999999999999</id_sms></get_state>",
        '<add_stop><phone phone="x" /></add_stop>',
        '<delete_schedule><schedule id_sms="1" /></delete_schedule>',
        '<scheduled page="-1" />',
        '<time start="2012-02-31 12:23:00" />',
        '<?xml version="1.0" encoding="x-bogus"?>',
        '<?xml version="1.0" encoding="utf-8" ?>',
        "<!DOCTYPE r [<!ENTITY x 'y'>]>",
        "&x;",
        "\x00",
    ]
)
xml_bodies = st.builds(
    lambda parts, tail: ("".join(parts) + tail).encode(),
    st.lists(xml_fragments, max_size=8),
    st.one_of(st.just(""), st.text(max_size=30)),
)
bodies = st.one_of(st.binary(max_size=200), json_bodies, xml_bodies)
query_values = st.one_of(
    st.sampled_from(["acme", "acme-pw", "ACME", "79650000001", "1"]), st.text(max_size=15)
)
query_keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=8))
queries = st.dictionaries(query_keys, query_values, max_size=6)
printable = st.characters(min_codepoint=32, max_codepoint=126)
header_text = st.text(alphabet=printable, max_size=30).map(str.strip)  # h11 sends no outer spaces
content_types = st.one_of(st.sampled_from(CONTENT_TYPES), header_text)

requests = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "POST", "PUT"]),
        "path": st.sampled_from(JSON_PATHS + XML_PATHS + GET_PATHS),
        "suffix": st.sampled_from(["", "/", "/extra"]),
        "body": bodies,
        "query": queries,
        "content_type": content_types,
    }
)


def check_shape(path: str, response: httpx.Response) -> None:
    """The answer is in the shape of the API the path belongs to."""
    assert response.status_code < 500, (path, response.status_code, response.content[:200])
    content_type = response.headers.get("content-type", "")
    if path.startswith("/json"):
        assert content_type.startswith("application/json"), (path, content_type)
        answer: Any = msgspec.json.decode(response.content)
        if isinstance(answer, dict) and "error" in answer:
            assert list(answer) == ["error"] and isinstance(answer["error"], str)
    elif path.startswith("/xml"):
        assert content_type.startswith("text/xml"), (path, content_type)
        assert response.content.startswith(b"<?xml"), response.content[:100]
        root = ET.fromstring(response.content)
        assert root.tag == "response"
    else:
        assert content_type.startswith("text/plain"), (path, content_type)
        assert response.text == response.text.strip() and response.text, response.text


def check(client: httpx.Client, r: dict[str, Any]) -> None:
    path = r["path"] + r["suffix"] if r["path"] != "/xml" else r["path"]
    headers = {"Content-Type": r["content_type"]} if r["content_type"] else {}
    response = client.request(
        r["method"], path, params=r["query"], content=r["body"], headers=headers
    )
    check_shape(path, response)


async def test_fuzz(gateway: Gateway, provision: Provision) -> None:
    await provision(senders=["ACME"])
    await run(
        gateway.url,
        requests,
        check,
        max_examples=300,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
