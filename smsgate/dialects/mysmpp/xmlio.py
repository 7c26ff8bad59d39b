"""The platform's XML documents: parsing with defusedxml (no DTDs, no entities) and rendering."""

from __future__ import annotations

from collections.abc import Iterable
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from .model import Batch, Credentials, Parsed, Recipient

DECLARATION = '<?xml version="1.0" encoding="utf-8" ?>'


class XmlFormatError(ValueError):
    pass


def load(body: bytes) -> Element:
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise XmlFormatError(str(exc)) from None
    if not isinstance(root, Element):
        raise XmlFormatError("no document element")
    return root


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


def parse(body: bytes) -> Parsed:
    root = load(body)
    if root.tag != "request":
        raise XmlFormatError("the document element must be <request>")
    security = root.find("security")
    creds = Credentials(
        login=_value(security, "login"),
        password=_value(security, "password"),
        token=_value(security, "token"),
    )
    parsed = Parsed(creds)
    messages = root.findall("message")
    if messages:
        parsed.batches = [_batch(m) for m in messages]
    state = root.find("get_state")
    if state is not None:
        parsed.id_sms = [(n.text or "").strip() for n in state.findall("id_sms")]
    return parsed


def _batch(node: Element) -> Batch:
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


def element(tag: str, attrs: dict[str, object] | None = None, text: str | None = None) -> str:
    attributes = "".join(
        f" {k}={quoteattr(str(v))}" for k, v in (attrs or {}).items() if v is not None
    )
    if text is None:
        return f"<{tag}{attributes} />"
    return f"<{tag}{attributes}>{escape(text)}</{tag}>"


def document(children: Iterable[str], root: str = "response") -> bytes:
    return (
        DECLARATION + f"\n<{root}>\n" + "".join(c + "\n" for c in children) + f"</{root}>"
    ).encode()


def error_document(text: str) -> bytes:
    return document([element("error", text=text)])


def acknowledged(body: bytes) -> bool:
    """A client's answer to a status push names at least one id_sms."""
    try:
        root = load(body)
    except XmlFormatError:
        return False
    return any((n.text or "").strip() for n in root.iter("id_sms"))
