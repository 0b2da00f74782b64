"""A stacked bar chart drawn on the server as SVG: one bar per agency, its actions split by
the derived status the API gives each action (`rag`). Readable in black and white: every
status has its own pattern as well as its colour, each segment wide enough carries its
number, and the same numbers are in a table beside it (the chart is a picture of the table)."""

from __future__ import annotations

from html import escape

# Most urgent first; the order of the segments, the legend and the table's columns.
RAG_ORDER = ("overdue", "at_risk", "on_track", "complete_awaiting_assurance", "assured")
LABELS = {"overdue": "Overdue", "at_risk": "At risk", "on_track": "On track",
          "complete_awaiting_assurance": "Awaiting assurance", "assured": "Assured complete"}
# (fill colour, pattern ink, label ink): dark patterns on light fills keep the contrast.
STYLE = {"overdue": ("#f4c7c3", "#8a1c12", "#000"),
         "at_risk": ("#fde7b0", "#7a5200", "#000"),
         "on_track": ("#d7e9f7", "#1d4f7a", "#000"),
         "complete_awaiting_assurance": ("#e6e0f3", "#4b3a78", "#000"),
         "assured": ("#d6efd9", "#1e5b2a", "#000")}
PATTERNS = {  # drawn in an 8x8 tile
    "overdue": '<path d="M0,8 L8,0 M-2,2 L2,-2 M6,10 L10,6" stroke-width="2"/>',
    "at_risk": '<circle cx="4" cy="4" r="1.6"/>',
    "on_track": '<path d="M0,4 L8,4" stroke-width="1.5"/>',
    "complete_awaiting_assurance": '<path d="M0,0 L8,8 M8,0 L0,8" stroke-width="1"/>',
    "assured": "",
}


def _defs() -> str:
    out = []
    for rag, pattern in PATTERNS.items():
        fill, ink, _ = STYLE[rag]
        shape = pattern.replace("/>", f' stroke="{ink}" fill="{ink}"/>') if pattern else ""
        out.append(f'<pattern id="pat-{rag}" width="8" height="8" patternUnits="userSpaceOnUse">'
                   f'<rect width="8" height="8" fill="{fill}"/>{shape}</pattern>')
    return "<defs>" + "".join(out) + "</defs>"


def stacked_bars(rows: list[tuple[str, dict[str, int], dict[str, str]]], *,
                 width: int = 760) -> str:
    """SVG of one bar per (label, counts by status, links by status) row; bars share one
    scale (the largest total)."""
    label_w, bar_h, gap, top = 330, 22, 10, 34
    biggest = max((sum(c.values()) for _, c, _ in rows), default=0) or 1
    scale = (width - label_w - 50) / biggest
    height = top + len(rows) * (bar_h + gap) + 4
    opening = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
               f'viewBox="0 0 {width} {height}" width="100%" '
               'aria-label="Actions by status per agency; the same numbers are in the table '
               'below">')
    parts = [opening, _defs()]
    x = 0
    for rag in RAG_ORDER:  # the legend
        parts.append(f'<rect x="{x}" y="4" width="16" height="16" fill="url(#pat-{rag})" '
                     f'stroke="#000" stroke-width="0.5"/>'
                     f'<text x="{x + 21}" y="17" font-size="12">{LABELS[rag]}</text>')
        x += 34 + 7 * len(LABELS[rag])
    for i, (label, counts, _links) in enumerate(rows):
        y = top + i * (bar_h + gap)
        short = label if len(label) <= 50 else label[:48] + "…"
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{escape(short)}</text>')
        bx = float(label_w)
        total = 0
        for rag in RAG_ORDER:
            n = counts.get(rag, 0)
            if not n:
                continue
            w = n * scale
            total += n
            parts.append(f'<rect x="{bx:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                         f'fill="url(#pat-{rag})" stroke="#000" stroke-width="0.6">'
                         f'<title>{escape(label)}: {n} {LABELS[rag].lower()}</title></rect>')
            if w >= 18:
                parts.append(f'<text x="{bx + w / 2:.1f}" y="{y + 15}" font-size="11" '
                             f'font-weight="bold" text-anchor="middle" fill="#000" '
                             f'stroke="#fff" stroke-width="3" paint-order="stroke">{n}</text>')
            bx += w
        parts.append(f'<text x="{bx + 6:.1f}" y="{y + 15}" font-size="12">{total}</text>')
    parts.append("</svg>")
    return "".join(parts)
