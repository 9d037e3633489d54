"""Read a written report back: section ids, links, images and SVG blocks."""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from PIL import Image

DATA_URI_PREFIX = "data:image/png;base64,"
_SVG_BLOCK = re.compile(r"<svg\b.*?</svg>", re.DOTALL)


@dataclass
class ParsedReport:
    html: str
    ids: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    images: list[dict[str, str]] = field(default_factory=list)
    svgs: list[str] = field(default_factory=list)
    text: str = ""
    tags: set[str] = field(default_factory=set)


class _Collector(HTMLParser):
    def __init__(self, parsed: ParsedReport):
        super().__init__(convert_charrefs=True)
        self.parsed = parsed
        self.chunks: list[str] = []
        self.in_svg = 0

    def handle_endtag(self, tag):
        if tag == "svg":
            self.in_svg -= 1

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.parsed.tags.add(tag)
        if tag == "svg":
            self.in_svg += 1
        if "id" in attrs and not self.in_svg:  # the page's own ids (a chart's clip paths have theirs)
            self.parsed.ids.append(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.parsed.links.append(attrs["href"])
        if tag == "img":
            self.parsed.images.append(attrs)

    def handle_data(self, data):
        self.chunks.append(data)


def parse_report(html: str) -> ParsedReport:
    parsed = ParsedReport(html=html, svgs=_SVG_BLOCK.findall(html))
    collector = _Collector(parsed)
    collector.feed(html)
    collector.close()
    parsed.text = "".join(collector.chunks)
    return parsed


def decode_data_uri(src: str) -> Image.Image:
    assert src.startswith(DATA_URI_PREFIX), src[:40]
    image = Image.open(io.BytesIO(base64.b64decode(src[len(DATA_URI_PREFIX) :], validate=True)))
    assert image.format == "PNG"
    image.load()
    return image
