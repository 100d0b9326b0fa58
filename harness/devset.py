"""Read the article extraction development set where it lies, beside the repository.

61 real article pages (gzip-compressed HTML) with the article body a person marked,
read at run time from ``../shared/aeb-dev`` beside the repository or from
``$AEB_DEV_DIR``; never copied into the repository.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import lxml.html
from lxml import etree

from service.text.decode import decode_bytes

ROOT = Path(__file__).resolve().parent.parent
ARTICLE_MARK = "data-marked-article"
"""The attribute :func:`prepared` puts on the element holding the marked article."""
_WORD = re.compile(r"\w+", re.U)
# A page's own scripts never run here (nor reach the network); JSON-LD is data and stays.
_SCRIPT_TYPES_KEPT = {"application/ld+json"}


class MissingDevSetError(RuntimeError):
    """The development set is not where it is looked for."""


def dataset_dir() -> Path:
    """Return the folder of the development set."""
    return Path(os.environ.get("AEB_DEV_DIR") or ROOT.parent / "shared" / "aeb-dev")


@cache
def truths() -> dict[str, dict[str, str]]:
    """Return the marked article of every page: name -> ``articleBody`` and ``url``."""
    truth_file = dataset_dir() / "ground-truth.json"
    if not truth_file.exists():
        raise MissingDevSetError(f"the development set is not at {dataset_dir()} (set AEB_DEV_DIR)")
    found: dict[str, dict[str, str]] = json.loads(truth_file.read_text(encoding="utf-8"))
    return found


def page_html(name: str) -> bytes:
    """Return the page ``name`` as crawled (HTML bytes)."""
    return gzip.decompress((dataset_dir() / "html" / f"{name}.html.gz").read_bytes())


def page_names() -> list[str]:
    """Return the names of every page, sorted."""
    return sorted(truths())


@dataclass(frozen=True)
class DevPage:
    """One page of the set, ready to serve."""

    name: str
    html: str
    """The page, scripts removed, the article element carrying ``ARTICLE_MARK``."""
    truth: str
    """The article text a person marked."""


def words(text: str) -> list[str]:
    """Return the lowercased ``\\w+`` words of ``text``."""
    return _WORD.findall(text.lower())


def _texts(element: etree._Element) -> Iterator[tuple[etree._Element, str]]:
    """Yield (element, text) for every text and tail, scripts and styles left out."""
    for node in element.iter():
        if not isinstance(node.tag, str) or node.tag in ("script", "style", "noscript"):
            continue
        if node.text:
            yield node, node.text
        for child in node:
            if child.tail:
                yield node, child.tail


def article_element(body: etree._Element, truth: str) -> etree._Element:
    """Return the element that best holds the marked article (highest word F1, deepest on ties)."""
    wanted = Counter(words(truth))
    total_truth = sum(wanted.values())
    found: dict[etree._Element, Counter[str]] = {}
    for node, text in _texts(body):
        for ancestor in [node, *node.iterancestors()]:
            found.setdefault(ancestor, Counter()).update(words(text))
            if ancestor is body:
                break
    best, best_f1 = body, -1.0
    for element in body.iter():
        counts = found.get(element)
        if not counts:
            continue
        hits = sum((counts & wanted).values())
        precision = hits / max(1, sum(counts.values()))
        recall = hits / max(1, total_truth)
        f1 = 2 * precision * recall / max(1e-9, precision + recall)
        if f1 >= best_f1:  # iter() goes down the tree: ties go to the deeper element
            best, best_f1 = element, f1
    return best


def prepared(name: str, data: bytes, truth: str) -> DevPage:
    """Remove the page's scripts and refreshes, and mark its article element."""
    root = lxml.html.document_fromstring(decode_bytes(data))
    for element in root.xpath("//script | //meta[@http-equiv]"):
        kept = (element.get("type") or "").lower() in _SCRIPT_TYPES_KEPT
        if element.tag == "script" and kept:
            continue
        element.drop_tree()
    body = root.find("body")
    assert body is not None, f"{name}: no body"
    article_element(body, truth).set(ARTICLE_MARK, "")
    html = "<!doctype html>\n" + lxml.html.tostring(root, encoding="unicode")
    return DevPage(name, html, truth)


def dev_pages() -> list[DevPage]:
    """Return every page of the development set."""
    return [prepared(name, page_html(name), truths()[name]["articleBody"]) for name in page_names()]


def with_embed(page: DevPage, server: str, way: str) -> bytes:
    """Return the page with the embed's tag before ``</body>``, ``way`` choosing data-article."""
    attribute = {
        "none": "",
        "body": ' data-article="body"',
        "article": f' data-article="[{ARTICLE_MARK}]"',
    }
    tag = f'<script src="{server}/embed.js"{attribute[way]} async></script>'
    html = page.html
    at = html.lower().rfind("</body>")
    return (html[:at] + tag + html[at:] if at >= 0 else html + tag).encode()
