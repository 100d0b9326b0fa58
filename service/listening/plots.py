"""Draw listening statistics as SVG a page embeds as it is: no script, no web font, no CDN.

Three plots: plays per day (bars, completions inside them), the completion
funnel (started, 25 %, 50 %, 75 %, finished), and per-paragraph drop-off
(one row per paragraph, its first words beside the bar of listeners who
reached it, the curve of what is left down the side). Each has a ``<title>``
and a ``<desc>`` saying in words what it shows, for screen readers, and
draws a plain message when there is nothing to show yet.

Written by hand with lxml rather than with a charting package: the drop-off
plot sets text beside each row, which chart libraries do not lay out, and
pygal (the SVG one) points its output at a script on a CDN unless told not to.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from lxml import etree

from service.db.stats import DayStats

SVG = "http://www.w3.org/2000/svg"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
PLAYS = "#93c5fd"
DONE = "#1d4ed8"
ROW_PX = 24
"""Height of one paragraph's row in the drop-off plot."""
TEXT_CHARS = 52
"""Characters of a paragraph shown beside its row (all of it in the row's tooltip)."""


def _svg(width: int, height: int, title: str, description: str, ids: str) -> etree._Element:
    root = etree.Element(
        f"{{{SVG}}}svg",
        nsmap={None: SVG},
        viewBox=f"0 0 {width} {height}",
        width="100%",
        role="img",
        preserveAspectRatio="xMinYMin meet",
    )
    # presentation attributes, not a style attribute: a page whose CSP forbids inline
    # styles (the dashboard's) still shows the plot as drawn; its page caps the width
    root.set("font-family", FONT)
    root.set("class", "plot")
    root.set("aria-labelledby", f"{ids}-title {ids}-desc")
    _add(root, "title", title, id=f"{ids}-title")
    _add(root, "desc", description, id=f"{ids}-desc")
    return root


def _add(
    parent: etree._Element, tag: str, text: str | None = None, **attributes: object
) -> etree._Element:
    element = etree.SubElement(
        parent, f"{{{SVG}}}{tag}", {k.replace("_", "-"): str(v) for k, v in attributes.items()}
    )
    if text is not None:
        element.text = text
    return element


def _done(root: etree._Element) -> str:
    return str(etree.tostring(root, encoding="unicode"))


def _empty(root: etree._Element, width: int, height: int, message: str) -> str:
    _add(root, "rect", x=0, y=0, width=width, height=height, fill="#f9fafb", rx=6)
    _add(
        root,
        "text",
        message,
        x=width / 2,
        y=height / 2,
        text_anchor="middle",
        dominant_baseline="middle",
        fill=MUTED,
        font_size=15,
    )
    return _done(root)


def nice_ceiling(value: int) -> int:
    """Return the smallest round number (1, 2 or 5 times a power of ten) at least ``value``."""
    if value <= 1:
        return 1
    power: int = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)} %" if whole else "–"


def plays_per_day_svg(days: Sequence[DayStats], *, ids: str = "plays") -> str:
    """Return bars of plays per day, each with its completions drawn inside it.

    ``ids`` prefixes the ids of the plot's elements: unique per plot on a page.
    """
    width, height = 720, 260
    left, right, top, bottom = 48, 16, 16, 40
    total_plays = sum(day.plays for day in days)
    total_done = sum(day.completions for day in days)
    span = f"{days[0].day} to {days[-1].day}" if days else "no days"
    root = _svg(
        width,
        height,
        "Plays per day",
        f"{total_plays} plays and {total_done} completions over {len(days)} days, {span}.",
        ids,
    )
    if not days or total_plays == 0:
        return _empty(root, width, height, "No plays yet")
    tick = nice_ceiling(math.ceil(max(day.plays for day in days) / 4))
    top_value = 4 * tick
    plot_w, plot_h = width - left - right, height - top - bottom
    for step in range(5):
        y = top + plot_h - plot_h * step / 4
        _add(root, "line", x1=left, x2=width - right, y1=y, y2=y, stroke=GRID)
        label = str(tick * step)
        _add(root, "text", label, x=left - 6, y=y + 4, text_anchor="end", fill=MUTED, font_size=11)
    slot = plot_w / len(days)
    bar_w = max(1.0, slot * 0.7)
    every = max(1, math.ceil(len(days) / 8))
    for index, day in enumerate(days):
        x = left + index * slot + (slot - bar_w) / 2
        group = _add(root, "g")
        _add(group, "title", f"{day.day}: {day.plays} plays, {day.completions} completions")
        for value, colour in ((day.plays, PLAYS), (day.completions, DONE)):
            bar_h = plot_h * value / top_value
            _add(
                group,
                "rect",
                x=f"{x:.1f}",
                y=f"{top + plot_h - bar_h:.1f}",
                width=f"{bar_w:.1f}",
                height=f"{bar_h:.1f}",
                fill=colour,
            )
        if (len(days) - 1 - index) % every == 0:  # counted from the last day: always shown
            _add(
                root,
                "text",
                _short_day(day.day),
                x=f"{x + bar_w / 2:.1f}",
                y=height - bottom + 16,
                text_anchor="middle",
                fill=MUTED,
                font_size=11,
            )
    _legend(root, width - right, height - 8)
    return _done(root)


def _short_day(day: dt.date) -> str:
    return day.strftime("%d %b").lstrip("0")


def _legend(root: etree._Element, right_x: float, y: float) -> None:
    entries = (("plays", PLAYS), ("completions", DONE))
    x = right_x
    for name, colour in reversed(entries):
        x -= 8 + 7 * len(name)
        _add(root, "text", name, x=x + 14, y=y, fill=INK, font_size=11)
        _add(root, "rect", x=x, y=y - 9, width=10, height=10, fill=colour)
        x -= 12


def funnel_svg(totals: DayStats, *, ids: str = "funnel") -> str:
    """Return the completion funnel: how many started, and reached 25, 50, 75 and 100 %."""
    steps = [
        ("Started", totals.plays),
        ("Reached 25 %", totals.quartiles[25]),
        ("Reached 50 %", totals.quartiles[50]),
        ("Reached 75 %", totals.quartiles[75]),
        ("Finished", totals.quartiles[100]),
    ]
    width, row = 720, 44
    height = row * len(steps) + 16
    label_w = 120
    whole = max([totals.plays, *(count for _, count in steps)])
    description = ", ".join(f"{name}: {count} ({_percent(count, whole)})" for name, count in steps)
    root = _svg(width, height, "Completion funnel", description + ".", ids)
    if whole == 0:
        return _empty(root, width, height, "No plays yet")
    bar_space = width - label_w - 110
    for index, (name, count) in enumerate(steps):
        y = 8 + index * row
        bar_w = bar_space * count / whole
        x = label_w + (bar_space - bar_w) / 2
        _add(
            root,
            "text",
            name,
            x=label_w - 10,
            y=y + row / 2 + 4,
            text_anchor="end",
            fill=INK,
            font_size=13,
        )
        _add(
            root,
            "rect",
            x=f"{label_w:.1f}",
            y=y + 4,
            width=f"{bar_space:.1f}",
            height=row - 8,
            fill="#f3f4f6",
            rx=4,
        )
        if bar_w > 0:
            _add(
                root,
                "rect",
                x=f"{x:.1f}",
                y=y + 4,
                width=f"{bar_w:.1f}",
                height=row - 8,
                fill=DONE if index == len(steps) - 1 else PLAYS,
                rx=4,
            )
        _add(
            root,
            "text",
            f"{count} · {_percent(count, whole)}",
            x=label_w + bar_space + 10,
            y=y + row / 2 + 4,
            fill=INK,
            font_size=13,
        )
    return _done(root)


def dropoff_svg(
    reached: Sequence[int], texts: Sequence[str] = (), *, plays: int = 0, ids: str = "dropoff"
) -> str:
    """Return per-paragraph drop-off: one row per paragraph, its first words beside its bar.

    ``reached[i]`` is how many listeners reached paragraph ``i``; ``texts[i]``
    its text. Bars are drawn against the plays (or the most reached paragraph).
    """
    width = 720
    text_w, bar_x = 360, 380
    bar_space = width - bar_x - 70
    height = max(80, ROW_PX * len(reached) + 16)
    whole = max([plays, *reached]) if reached else plays
    kept = [_percent(count, whole) for count in reached]
    summary = (
        f"{len(reached)} paragraphs; the last was reached by {reached[-1]} of {whole} listeners "
        f"({kept[-1]})."
        if reached and whole
        else "No paragraph reached yet."
    )
    root = _svg(width, height, "Drop-off by paragraph", summary, ids)
    if not reached or whole == 0:
        return _empty(root, width, height, "No paragraph reached yet")
    clip = _add(_add(root, "defs"), "clipPath", id=f"{ids}-text")
    _add(clip, "rect", x=0, y=0, width=text_w, height=height)
    points = []
    for index, count in enumerate(reached):
        y = 8 + index * ROW_PX
        text = " ".join(texts[index].split()) if index < len(texts) else ""
        shown = text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1].rstrip() + "…"
        group = _add(root, "g")
        _add(group, "title", f"Paragraph {index + 1}: {count} listeners ({kept[index]}). {text}")
        if index % 2 == 0:
            _add(group, "rect", x=0, y=y, width=width, height=ROW_PX, fill="#f9fafb")
        _add(
            group,
            "text",
            str(index + 1),
            x=28,
            y=y + 16,
            text_anchor="end",
            fill=MUTED,
            font_size=11,
        )
        _add(
            group,
            "text",
            shown,
            x=36,
            y=y + 16,
            fill=INK,
            font_size=12,
            clip_path=f"url(#{ids}-text)",
        )
        bar_w = bar_space * count / whole
        _add(
            group,
            "rect",
            x=bar_x,
            y=y + 5,
            width=f"{bar_w:.1f}",
            height=ROW_PX - 10,
            fill=PLAYS,
            rx=3,
        )
        _add(group, "text", kept[index], x=bar_x + bar_space + 8, y=y + 16, fill=INK, font_size=11)
        points.append(f"{bar_x + bar_w:.1f},{y + ROW_PX / 2:.1f}")
    _add(
        root,
        "polyline",
        points=" ".join(points),
        fill="none",
        stroke=DONE,
        stroke_width=2,
        stroke_linejoin="round",
    )
    _add(root, "line", x1=text_w + 10, x2=text_w + 10, y1=0, y2=height, stroke=GRID)
    return _done(root)
