"""A workflow's lifecycle drawn in Python, as SVG: no Graphviz needed.

    draw(spec, highlight=None, *, title) -> str    an <svg> element ready to inline in HTML,
                                                   `highlight` (a state's name) marked as current

A small layered layout (after Sugiyama), top to bottom, so that it reads down a phone screen:

1. Ranks. The arrows that lead back (found by a depth-first walk from the initial state, in
   the order the workflow file lists its transitions) are turned round; every state then sits
   one row below the lowest of the states that lead to it (longest path). The initial state is
   on the first row, the states an agreement ends in fall towards the last.
2. Arrows that skip rows pass through a waypoint on every row in between. The arrows of one
   event into one state share their waypoints, so "Terminate" from five states is one line
   that the five join, labelled once, not five lines side by side.
3. Order within a row: a few sweeps of the barycentre heuristic (each state or waypoint moves
   towards the mean position of its neighbours on the row above, then below), keeping the
   order with the fewest crossings.
4. Positions: each row is placed as close as its order allows to the weighted mean of its
   neighbours (least squares under the order and the spacing, by pooling adjacent violators).
   A state's first arrow down in the file is taken as its main way on and pulls hardest, so the
   usual path runs straight down the middle; a line through waypoints pulls harder than a
   side arrow, so long lines stay straight.

Each state is a labelled box (the text is the state's label, not its name); a final state has
a double border; the highlighted state is dark with white text and says "(current)", so the
state is never told by colour alone. Each arrow carries its event's label once, on a white
halo, placed where it overlaps no box and no other label when such a place exists. An event
that leaves a state for the same state is a loop on the box's right. The SVG has a `viewBox`
and its natural `width` and `height`: it scales down to a phone's width, and a <title> and a
<desc> (every state and where each event leads) name it for screen readers.

Text widths are estimated (no font metrics without a renderer): boxes are sized generously
and text is centred, so a narrower font only leaves more room.

Every word is in the language being read (`engine.i18n.reading`): the states' and events' labels
from the workflow file (`WorkflowSpec.label_of`), the words around them from the catalogs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from engine.i18n import current, gettext
from workflows.definition import WorkflowSpec

FONT = "Helvetica, Arial, sans-serif"
STATE_SIZE = 14  # px, the state labels
EVENT_SIZE = 13  # px, the event labels on the arrows
EM = 0.62  # a generous average character width, in em, for sans-serif text of mixed case
BOX_HEIGHT = 36
BOX_PADDING = 14  # left and right of a state's label
PORT_SPACING = 14  # the least distance between two arrow ends on one side of a box
ROW_GAP = 64  # between two rows of boxes: room for the arrows and their labels
COLUMN_GAP = 18  # between two boxes of one row
WAYPOINT_WIDTH = 4  # the room an arrow passing through a row takes in it
WAYPOINT_GAP = 10  # between an arrow passing through a row and what is beside it
LOOP_REACH = 26  # how far a loop stands out to the right of its box
MARGIN = 10
SWEEPS = 8

INK = "#111827"
LINE = "#4b5563"
LABEL_INK = "#374151"
PLAIN_FILL = "#ffffff"
FINAL_FILL = "#f3f4f6"
CURRENT = "#1e3a8a"


def text_width(text: str, size: float) -> float:
    return len(text) * size * EM


@dataclass
class _Node:
    key: str  # a state's name, or a waypoint's made-up key
    rank: int
    state: str | None = None  # None for a waypoint
    label: str = ""
    final: bool = False
    current: bool = False
    loop_labels: list[str] = field(default_factory=list)
    width: float = WAYPOINT_WIDTH
    x: float = 0.0  # the centre of the box

    @property
    def loop_width(self) -> float:
        if not self.loop_labels:
            return 0.0
        return LOOP_REACH + 6 + text_width(", ".join(self.loop_labels), EVENT_SIZE)

    @property
    def left(self) -> float:
        return self.x - self.width / 2

    @property
    def right(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class _Bundle:
    """The arrows of one event into one state, all going down or all going up."""

    event: str
    label: str
    dest: str
    up: bool


@dataclass
class _Segment:
    """One hop of an arrow between two adjacent rows: `tail` leads to `head`."""

    tail: str
    head: str
    bundle: _Bundle
    weight: float = 1.0  # how strongly its ends pull into line with each other (`_place`)


def draw(spec: WorkflowSpec, highlight: str | None = None, *, title: str) -> str:
    nodes, segments = _graph(spec, highlight)
    rows = _rows(nodes)
    _order(rows, segments, nodes)
    _size_boxes(nodes, segments)
    _place(rows, segments, nodes)
    return _svg(spec, nodes, rows, segments, highlight, title)


# --- the graph: ranks, waypoints, segments ---------------------------------------------------------

def _arrows(spec: WorkflowSpec) -> tuple[list[tuple[str, str, str]], dict[str, list[str]]]:
    """(source, event, dest) once each, in the file's order; and each state's loops' event labels."""
    arrows: list[tuple[str, str, str]] = []
    loops: dict[str, list[str]] = {}
    for transition in spec.transitions:
        for source in transition.source:
            if source == transition.dest:
                label = spec.label_of(transition.event, current())
                if label not in loops.setdefault(source, []):
                    loops[source].append(label)
            elif (source, transition.event, transition.dest) not in arrows:
                arrows.append((source, transition.event, transition.dest))
    return arrows, loops


def _ranks(spec: WorkflowSpec, arrows: list[tuple[str, str, str]]) -> dict[str, int]:
    """Each state's row: longest path from the roots once the arrows that lead back are turned round."""
    leads: dict[str, list[str]] = {name: [] for name in spec.states}
    for source, _, dest in arrows:
        if dest not in leads[source]:
            leads[source].append(dest)
    visited: set[str] = set()
    on_path: set[str] = set()
    finished: list[str] = []
    forward: dict[str, list[str]] = {name: [] for name in spec.states}

    def walk(state: str) -> None:
        visited.add(state)
        on_path.add(state)
        for dest in leads[state]:
            if dest in on_path:
                forward[dest].append(state)  # leads back: turned round
            else:
                forward[state].append(dest)
                if dest not in visited:
                    walk(dest)
        on_path.discard(state)
        finished.append(state)

    for root in [spec.initial, *spec.states]:
        if root not in visited:
            walk(root)
    rank = dict.fromkeys(spec.states, 0)
    for state in reversed(finished):  # a topological order of the turned graph
        for dest in forward[state]:
            rank[dest] = max(rank[dest], rank[state] + 1)
    return rank


def _graph(spec: WorkflowSpec, highlight: str | None) -> tuple[dict[str, _Node], list[_Segment]]:
    arrows, loops = _arrows(spec)
    rank = _ranks(spec, arrows)
    nodes: dict[str, _Node] = {}
    for name, state in spec.states.items():
        nodes[name] = _Node(key=name, rank=rank[name], state=name, final=state.final, current=name == highlight,
                            label=spec.label_of(name, current()) + (gettext(" (current)") if name == highlight else ""),
                            loop_labels=loops.get(name, []))
    bundles: dict[_Bundle, list[str]] = {}
    for source, event, dest in arrows:
        bundle = _Bundle(event=event, label=spec.label_of(event, current()), dest=dest, up=rank[dest] < rank[source])
        bundles.setdefault(bundle, []).append(source)
    # A state's first arrow down, in the file's order, is its main way on: kept the straightest.
    main: dict[str, str] = {}
    for source, event, dest in arrows:
        if rank[dest] > rank[source]:
            main.setdefault(source, f"{event}>{dest}")
    segments: list[_Segment] = []
    for number, (bundle, sources) in enumerate(bundles.items()):
        step = -1 if bundle.up else 1
        end = rank[bundle.dest]
        # Waypoints on the rows between the farthest source and the destination, shared by all sources.
        farthest = max(sources, key=lambda s: abs(rank[s] - end))
        chain: dict[int, str] = {}
        for row in range(rank[farthest] + step, end, step):
            key = f"~{number}.{row}"
            nodes[key] = _Node(key=key, rank=row)
            chain[row] = key
        for row, key in chain.items():
            segments.append(_Segment(tail=key, head=chain.get(row + step, bundle.dest), bundle=bundle, weight=2))
        for source in sources:
            segments.append(_Segment(tail=source, head=chain.get(rank[source] + step, bundle.dest), bundle=bundle,
                                     weight=4 if main.get(source) == f"{bundle.event}>{bundle.dest}" else 1))
    return nodes, segments


def _rows(nodes: dict[str, _Node]) -> list[list[str]]:
    rows: list[list[str]] = [[] for _ in range(max(n.rank for n in nodes.values()) + 1)]
    for node in nodes.values():  # states in the file's order, then the waypoints
        rows[node.rank].append(node.key)
    return rows


# --- order within a row -----------------------------------------------------------------------------

def _neighbours(segments: list[_Segment], nodes: dict[str, _Node]) -> dict[str, tuple[list[str], list[str]]]:
    """Each node's neighbours on the row above and on the row below."""
    found: dict[str, tuple[list[str], list[str]]] = {key: ([], []) for key in nodes}
    for segment in segments:
        upper, lower = sorted((segment.tail, segment.head), key=lambda k: nodes[k].rank)
        found[lower][0].append(upper)
        found[upper][1].append(lower)
    return found


def _crossings(rows: list[list[str]], segments: list[_Segment], nodes: dict[str, _Node]) -> int:
    position = {key: i for row in rows for i, key in enumerate(row)}
    between: dict[int, list[tuple[int, int]]] = {}
    for segment in segments:
        upper, lower = sorted((segment.tail, segment.head), key=lambda k: nodes[k].rank)
        between.setdefault(nodes[upper].rank, []).append((position[upper], position[lower]))
    count = 0
    for pairs in between.values():
        for i, (a1, b1) in enumerate(pairs):
            for a2, b2 in pairs[i + 1:]:
                if (a1 - a2) * (b1 - b2) < 0:
                    count += 1
    return count


def _order(rows: list[list[str]], segments: list[_Segment], nodes: dict[str, _Node]) -> None:
    neighbours = _neighbours(segments, nodes)
    best = [list(row) for row in rows]
    fewest = _crossings(rows, segments, nodes)
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        indices = range(1, len(rows)) if down else range(len(rows) - 2, -1, -1)
        for r in indices:
            beside = {key: i for i, key in enumerate(rows[r - 1 if down else r + 1])}
            rows[r] = [key for _, _, key in sorted(
                (_barycentre([beside[k] for k in neighbours[key][0 if down else 1] if k in beside], here), here, key)
                for here, key in enumerate(rows[r]))]
        crossings = _crossings(rows, segments, nodes)
        if crossings < fewest:
            fewest, best = crossings, [list(row) for row in rows]
    rows[:] = best


def _barycentre(positions: list[int], here: int) -> float:
    return sum(positions) / len(positions) if positions else here


# --- sizes and positions ----------------------------------------------------------------------------

def _ports(segments: list[_Segment], nodes: dict[str, _Node]) -> dict[tuple[str, bool], list[tuple[str, _Bundle]]]:
    """The arrow ends on each side of each state (key, bottom?) -> [(other end, bundle)], one per
    bundle and other end; the arrows of one bundle into one state share one end."""
    ports: dict[tuple[str, bool], list[tuple[str, _Bundle]]] = {}
    for segment in segments:
        for near, far in ((segment.tail, segment.head), (segment.head, segment.tail)):
            if nodes[near].state is None:
                continue
            side = (near, nodes[far].rank > nodes[near].rank)
            entry = ("", segment.bundle) if near == segment.head else (far, segment.bundle)
            if entry not in ports.setdefault(side, []):
                ports[side].append(entry)
    return ports


def _size_boxes(nodes: dict[str, _Node], segments: list[_Segment]) -> None:
    ports = _ports(segments, nodes)
    for node in nodes.values():
        if node.state is None:
            continue
        most = max(len(ports.get((node.key, bottom), [])) for bottom in (False, True))
        node.width = max(text_width(node.label, STATE_SIZE) + 2 * BOX_PADDING, (most + 1) * PORT_SPACING)


def _extent(node: _Node) -> tuple[float, float]:
    """How far the node reaches left and right of its centre (a loop and its label included)."""
    return node.width / 2, node.width / 2 + node.loop_width


def _gap(left: _Node, right: _Node) -> float:
    """Boxes stand COLUMN_GAP apart; an arrow passing by needs less room."""
    return COLUMN_GAP if left.state is not None and right.state is not None else WAYPOINT_GAP


def _fit(desired: list[float], gaps: list[float]) -> list[float]:
    """The positions closest (least squares) to `desired` that keep their order, gaps[i] apart
    between i and i+1: pool adjacent violators over the positions less their running offsets."""
    offsets = [0.0]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    blocks: list[list[float]] = []  # [mean, count]
    for want, offset in zip(desired, offsets, strict=True):
        blocks.append([want - offset, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, count = blocks.pop()
            blocks[-1] = [(blocks[-1][0] * blocks[-1][1] + mean * count) / (blocks[-1][1] + count),
                          blocks[-1][1] + count]
    values = [mean for mean, count in blocks for _ in range(int(count))]
    return [value + offset for value, offset in zip(values, offsets, strict=True)]


def _place(rows: list[list[str]], segments: list[_Segment], nodes: dict[str, _Node]) -> None:
    pulls: dict[str, tuple[list[tuple[str, float]], list[tuple[str, float]]]] = {key: ([], []) for key in nodes}
    for segment in segments:
        upper, lower = sorted((segment.tail, segment.head), key=lambda k: nodes[k].rank)
        pulls[lower][0].append((upper, segment.weight))
        pulls[upper][1].append((lower, segment.weight))
    gaps = [[_extent(nodes[a])[1] + _extent(nodes[b])[0] + _gap(nodes[a], nodes[b])
             for a, b in zip(row, row[1:], strict=False)] for row in rows]
    for row, row_gaps in zip(rows, gaps, strict=True):
        for key, x in zip(row, _fit([0.0] * len(row), row_gaps), strict=True):
            nodes[key].x = x
    for sweep in range(2 * SWEEPS):
        down = sweep % 2 == 0
        for r in range(len(rows)) if down else range(len(rows) - 1, -1, -1):
            desired = []
            for key in rows[r]:
                linked = pulls[key][0 if down else 1] or pulls[key][1 if down else 0]
                total = sum(weight for _, weight in linked)
                desired.append(sum(nodes[k].x * weight for k, weight in linked) / total if linked else nodes[key].x)
            for key, x in zip(rows[r], _fit(desired, gaps[r]), strict=True):
                nodes[key].x = x
    leftmost = min(nodes[row[0]].x - _extent(nodes[row[0]])[0] for row in rows if row)
    for node in nodes.values():
        node.x += MARGIN - leftmost


# --- SVG ----------------------------------------------------------------------------------------------

def _top(rank: int) -> float:
    return MARGIN + rank * (BOX_HEIGHT + ROW_GAP)


@dataclass
class _Box:
    left: float
    top: float
    right: float
    bottom: float

    def overlap(self, other: _Box) -> float:
        """The area the two boxes share."""
        return (max(0.0, min(self.right, other.right) - max(self.left, other.left))
                * max(0.0, min(self.bottom, other.bottom) - max(self.top, other.top)))


def _curve(x1: float, y1: float, x2: float, y2: float, t: float) -> tuple[float, float]:
    """A point on the S-curve from (x1, y1) to (x2, y2) that leaves and arrives vertically."""
    s = 1 - t
    middle = (y1 + y2) / 2
    return (x1 + (x2 - x1) * (3 * t * t - 2 * t ** 3),
            y1 * s ** 3 + 3 * middle * t * s * s + 3 * middle * t * t * s + y2 * t ** 3)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(spec: WorkflowSpec, nodes: dict[str, _Node], rows: list[list[str]], segments: list[_Segment],
         highlight: str | None, title: str) -> str:
    ports = _ports(segments, nodes)
    # Each side's arrow ends, spread along it in the order of the other ends' positions.
    where: dict[tuple[str, bool, str, _Bundle], float] = {}
    tails: dict[tuple[str, _Bundle], list[float]] = {}
    for segment in segments:
        tails.setdefault((segment.head, segment.bundle), []).append(nodes[segment.tail].x)

    def across(key: str, far: str, bundle: _Bundle) -> float:
        """Where the other end of a port's arrows is: the state it leads to, or those it comes from."""
        if far:
            return nodes[far].x
        xs = tails[(key, bundle)]
        return sum(xs) / len(xs)

    for (key, bottom), ends in ports.items():
        node = nodes[key]
        ordered = sorted(ends, key=lambda e: across(key, e[0], e[1]))
        for i, (far, bundle) in enumerate(ordered):
            where[(key, bottom, far, bundle)] = node.left + node.width * (i + 1) / (len(ordered) + 1)

    def end(key: str, other: str, bundle: _Bundle, entering: bool) -> tuple[float, float]:
        node = nodes[key]
        bottom = nodes[other].rank > node.rank
        y = _top(node.rank) + (BOX_HEIGHT if bottom else 0)
        if node.state is None:
            return node.x, y
        return where[(key, bottom, "" if entering else other, bundle)], y

    boxes = [_Box(n.left - 2, _top(n.rank) - 2, n.right + 2, _top(n.rank) + BOX_HEIGHT + 2)
             for n in nodes.values() if n.state]
    paths: list[str] = []
    heads: list[str] = []
    curves: dict[_Bundle, list[tuple[float, float, float, float]]] = {}
    for segment in segments:
        x1, y1 = end(segment.tail, segment.head, segment.bundle, entering=False)
        x2, y2 = end(segment.head, segment.tail, segment.bundle, entering=True)
        if nodes[segment.head].state is not None:  # an arrowhead where it enters a state
            tip = y2
            y2 += 8 if y2 < y1 else -8
            heads.append(f'<path d="M{_n(x2 - 4.5)},{_n(y2)}L{_n(x2)},{_n(tip)}L{_n(x2 + 4.5)},{_n(y2)}z"/>')
            curves.setdefault(segment.bundle, []).append((x1, y1, x2, y2))
        middle = (y1 + y2) / 2
        paths.append(f'<path d="M{_n(x1)},{_n(y1)}C{_n(x1)},{_n(middle)} {_n(x2)},{_n(middle)} {_n(x2)},{_n(y2)}"/>')
    for node in nodes.values():  # a waypoint is the arrow passing straight down (or up) its row
        if node.state is None:
            top = _top(node.rank)
            paths.append(f'<path d="M{_n(node.x)},{_n(top)}V{_n(top + BOX_HEIGHT)}"/>')

    # One label per bundle, on one of its last hops, where it overlaps no box and no other label.
    labels: list[str] = []
    taken = list(boxes)
    for bundle, hops in curves.items():
        width = text_width(bundle.label, EVENT_SIZE) * 0.9 + 8
        height = EVENT_SIZE * 1.4 + 2
        candidates = []
        for t in (0.5, 0.38, 0.62, 0.26, 0.74, 0.14, 0.86):
            for x1, y1, x2, y2 in sorted(hops, key=lambda h: abs(h[0] - h[2])):
                x, y = _curve(x1, y1, x2, y2, t)
                box = _Box(x - width / 2, y - height / 2, x + width / 2, y + height / 2)
                candidates.append((sum(box.overlap(other) for other in taken), x, y, box))
        _, x, y, box = min(candidates, key=lambda c: c[0])  # the first without overlap, if any
        taken.append(box)
        labels.append(f'<text x="{_n(x)}" y="{_n(y)}" dy=".35em">{escape(bundle.label)}</text>')

    states: list[str] = []
    for node in nodes.values():
        if node.state is None:
            continue
        top = _top(node.rank)
        fill, stroke, ink, weight = ((CURRENT, CURRENT, "#ffffff", "3") if node.current
                                     else (FINAL_FILL if node.final else PLAIN_FILL, LINE, INK, "1"))
        parts = [f'<rect x="{_n(node.left)}" y="{_n(top)}" width="{_n(node.width)}" height="{BOX_HEIGHT}" rx="8" '
                 f'fill="{fill}" stroke="{stroke}" stroke-width="{weight}"/>']
        if node.final:
            parts.append(f'<rect x="{_n(node.left + 3)}" y="{_n(top + 3)}" width="{_n(node.width - 6)}" '
                         f'height="{BOX_HEIGHT - 6}" rx="6" fill="none" stroke="{stroke}"/>')
        bold = ' font-weight="bold"' if node.current else ""
        parts.append(f'<text x="{_n(node.x)}" y="{_n(top + BOX_HEIGHT / 2)}" dy=".35em" fill="{ink}"{bold}>'
                     f'{escape(node.label)}</text>')
        if node.loop_labels:
            right, middle = node.right, top + BOX_HEIGHT / 2
            parts.append(f'<path d="M{_n(right)},{_n(middle - 9)}C{_n(right + LOOP_REACH)},{_n(middle - 22)} '
                         f'{_n(right + LOOP_REACH)},{_n(middle + 22)} {_n(right + 8)},{_n(middle + 9)}" '
                         f'fill="none" stroke="{LINE}" stroke-width="1.2"/>')
            parts.append(f'<path d="M{_n(right + 8)},{_n(middle + 4.5)}L{_n(right)},{_n(middle + 9)}'
                         f'L{_n(right + 8)},{_n(middle + 13.5)}z" fill="{LINE}"/>')
            parts.append(f'<text x="{_n(right + LOOP_REACH + 4)}" y="{_n(middle)}" dy=".35em" text-anchor="start" '
                         f'font-size="{EVENT_SIZE}" fill="{LABEL_INK}">{escape(", ".join(node.loop_labels))}</text>')
        states.append(f'<g class="state{" current" if node.current else ""}">{"".join(parts)}</g>')

    right_edge = max([n.right + n.loop_width for n in nodes.values()] + [b.right for b in taken])
    left_edge = min([n.left for n in nodes.values()] + [b.left for b in taken])
    shift = MARGIN - min(left_edge, MARGIN)
    width = right_edge + shift + MARGIN
    height = _top(len(rows) - 1) + BOX_HEIGHT + MARGIN
    description = _description(spec, highlight)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram layered" role="img" '
            f'aria-labelledby="diagram-title diagram-desc" viewBox="0 0 {_n(width)} {_n(height)}" '
            f'width="{_n(width)}" height="{_n(height)}" preserveAspectRatio="xMidYMid meet" '
            f'font-family="{FONT}" font-size="{STATE_SIZE}" text-anchor="middle">'
            f'<title id="diagram-title">{escape(title)}</title><desc id="diagram-desc">{escape(description)}</desc>'
            f'<g transform="translate({_n(shift)},0)">'
            f'<g fill="none" stroke="{LINE}" stroke-width="1.2">{"".join(paths)}</g>'
            f'<g fill="{LINE}">{"".join(heads)}</g>'
            f'<g font-size="{EVENT_SIZE}" fill="{LABEL_INK}" stroke="#ffffff" stroke-width="4" '
            f'stroke-linejoin="round" paint-order="stroke">{"".join(labels)}</g>'
            f'{"".join(states)}</g></svg>\n')


def _description(spec: WorkflowSpec, highlight: str | None) -> str:
    """What the picture shows, in words: every state and where each event leads from it."""
    sentences = []
    for name, state in spec.states.items():
        leads: list[str] = []
        for transition in spec.transitions:
            if name in transition.source:
                words = gettext("%(event)s leads to %(state)s") % {
                    "event": spec.label_of(transition.event, current()),
                    "state": spec.label_of(transition.dest, current())}
                if words not in leads:
                    leads.append(words)
        what = (spec.label_of(name, current()) + (gettext(" (current state)") if name == highlight else "")
                + (gettext(" (final)") if state.final else ""))
        sentences.append(f"{what}: {'; '.join(leads)}." if leads else f"{what}.")
    start = gettext("Starts in %(state)s.") % {"state": spec.label_of(spec.initial, current())}
    return start + " " + " ".join(sentences)
