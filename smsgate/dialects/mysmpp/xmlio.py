"""The platform's XML documents: loaded with defusedxml (no DTDs, no entities) and written."""

from __future__ import annotations

from collections.abc import Iterable
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

DECLARATION = '<?xml version="1.0" encoding="utf-8" ?>'


class XmlFormatError(ValueError):
    pass


def load(body: bytes) -> Element:
    """The document element; XmlFormatError for anything that is not a plain XML document.

    LookupError: a declared encoding Python does not know (`encoding="x-bogus"`)."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError, LookupError, RecursionError) as exc:
        raise XmlFormatError(str(exc)) from None
    if not isinstance(root, Element):
        raise XmlFormatError("no document element")
    return root


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
