"""A PDF page's words as a reader sees them: in lines, and each line in segments.

A segment is a run of words with ordinary spacing; a wide gap starts the next one.
So "Seller: ACME Ltd.        Invoice No.: 42" is two segments, a table row has one
segment per cell, and the left and right columns of a two-column header stay apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

# Words whose tops differ by less than this share of the font size are on one line.
SAME_LINE = 0.45
# A gap wider than this share of the font size separates two segments: a space is
# 0.25 to 0.6 of it, a tab stop or a column gap several.
SEGMENT_GAP = 1.0


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float

    @property
    def center(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass(frozen=True)
class Segment:
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return self.words[-1].x1

    @property
    def top(self) -> float:
        return min(word.top for word in self.words)

    def overlap(self, x0: float, x1: float) -> float:
        return max(0.0, min(self.x1, x1) - max(self.x0, x0))


@dataclass(frozen=True)
class Line:
    page: int
    top: float
    segments: tuple[Segment, ...]

    @property
    def text(self) -> str:
        return " ".join(segment.text for segment in self.segments)

    @property
    def words(self) -> list[Word]:
        return [word for segment in self.segments for word in segment.words]

    @property
    def height(self) -> float:
        return max(word.size for word in self.words)


def page_words(page) -> list[Word]:
    """The words of a pdfplumber page, with their font size."""
    return [
        Word(
            text=word["text"],
            x0=float(word["x0"]),
            x1=float(word["x1"]),
            top=float(word["top"]),
            bottom=float(word["bottom"]),
            size=float(word.get("size") or (word["bottom"] - word["top"]) or 10),
        )
        for word in page.extract_words(x_tolerance=1.5, y_tolerance=2, extra_attrs=["size"])
    ]


def lines_of(words: list[Word], *, page: int) -> list[Line]:
    """Words grouped into lines, top to bottom, and each line into segments."""
    rows: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.top, w.x0)):
        if rows and abs(word.top - rows[-1][0].top) <= SAME_LINE * max(word.size, 1):
            rows[-1].append(word)
        else:
            rows.append([word])
    lines = []
    for row in rows:
        row.sort(key=lambda w: w.x0)
        segments, current = [], [row[0]]
        for previous, word in pairwise(row):
            if word.x0 - previous.x1 > SEGMENT_GAP * max(word.size, previous.size):
                segments.append(Segment(tuple(current)))
                current = []
            current.append(word)
        segments.append(Segment(tuple(current)))
        lines.append(Line(page=page, top=row[0].top, segments=tuple(segments)))
    return lines
