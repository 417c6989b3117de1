"""Untrusted XML, parsed safely.

`defusedxml` wraps the standard library's expat parser and refuses entity
declarations and external references before expat acts on them, so no
entity is expanded (billion laughs), no file or URL is ever opened (XXE),
and nothing reaches the network. We keep its parser (rather than lxml with a
hardened configuration) because it is pure Python over the standard library,
adds no native dependency, and its refusals are exceptions we can name.

On top of that: the input is bounded in size before parsing, and any
document type declaration is refused, since no DUIS request has one. The
DOCTYPE is recorded while parsing rather than refused at once so that a
hostile entity in it is reported for what it is (an entity declaration,
an external entity naming its URL) rather than as "a DTD".
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
    NotSupportedError,
)
from defusedxml.ElementTree import DefusedXMLParser

from redline.duis.errors import DuisError

DEFAULT_MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64


def _where(parser: DefusedXMLParser) -> str:
    p = parser.parser
    return f"line {p.CurrentLineNumber}, column {p.CurrentColumnNumber + 1}"


def _bound_depth(parser: DefusedXMLParser) -> None:
    """Refuse elements nested deeper than MAX_DEPTH while parsing: the tree's own methods
    (`iter`, `copy`) recurse, and no DUIS request is nested more than a few levels."""
    p = parser.parser
    start, end = p.StartElementHandler, p.EndElementHandler
    assert start is not None and end is not None  # the tree builder handles both
    depth = 0

    def on_start(*a: Any) -> Any:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise DuisError(_where(parser), f"elements nested more than {MAX_DEPTH} deep; a DUIS request is nested a few levels")
        return start(*a)

    def on_end(*a: Any) -> Any:
        nonlocal depth
        depth -= 1
        return end(*a)

    p.StartElementHandler, p.EndElementHandler = on_start, on_end


def parse_xml(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> ET.Element:
    """The root element of `data`; DuisError for oversize, hostile or malformed XML."""
    if len(data) > max_bytes:
        raise DuisError("input", f"larger than the {max_bytes:,}-byte bound for a DUIS request ({len(data):,} bytes or more)")
    parser = DefusedXMLParser(forbid_dtd=False, forbid_entities=True, forbid_external=True)
    doctype: list[str] = []

    def on_doctype(name: str, sysid: str | None, pubid: str | None, has_internal_subset: bool) -> None:
        doctype.append(f"line {parser.parser.CurrentLineNumber}")
        if sysid is not None:  # an external DTD subset is itself an external reference
            raise ExternalReferenceForbidden("", "", sysid, pubid or "")

    parser.parser.StartDoctypeDeclHandler = on_doctype
    _bound_depth(parser)
    try:
        parser.feed(data)
        root: ET.Element = parser.close()
    except EntitiesForbidden as e:
        kind = "an external entity" if e.sysid or e.pubid else "an entity"
        url = f" (SYSTEM `{e.sysid}`)" if e.sysid else ""
        raise DuisError(_where(parser), f"{kind} declaration `{e.name}`{url} is refused: entities are never declared, "
                        "expanded or fetched in a DUIS request") from None
    except ExternalReferenceForbidden as e:
        raise DuisError(_where(parser), f"an external reference to `{e.sysid or e.pubid}` is refused: "
                        "nothing is ever fetched while reading a DUIS request") from None
    except (DTDForbidden, NotSupportedError, DefusedXmlException) as e:
        raise DuisError(_where(parser), f"refused: {e}") from None
    except ET.ParseError as e:
        line, col = e.position
        reason = str(e).split(":")[0]
        raise DuisError(f"line {line}, column {col + 1}", f"malformed XML: {reason}") from None
    except (LookupError, ValueError) as e:
        # The XML declaration names an encoding Python does not know (LookupError) or pyexpat cannot
        # decode with (multi-byte codecs such as shift_jis, utf-7 or utf-32: ValueError; idna: UnicodeError).
        raise DuisError("line 1", f"malformed XML: the encoding in the XML declaration cannot be read ({e}); "
                        "a DUIS request is UTF-8") from None
    if doctype:
        raise DuisError(doctype[0], "a document type declaration (<!DOCTYPE ...>) is refused: a DUIS request has none")
    return root


def local(tag: Any) -> str:
    """`{namespace}Name` -> `Name`."""
    return str(tag).rpartition("}")[2]
