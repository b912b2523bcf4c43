"""Board order: base-36 ranks that let a card move without renumbering its column.

A rank is a *position* followed by the card's own id written in base 36 (25 digits,
enough for all 128 bits). Ranks compare byte by byte (the column is COLLATE "C",
and ``0-9`` sort before ``a-z`` as digits should), so a rank reads as a base-36
fraction and the position decides the order.

The id suffix is what lets concurrent moves proceed without waiting for one another:
two cards never share a rank, even when two requests drop them into the same gap at
the same moment and compute the same position — they then sit side by side, ordered
by id (only a rebalance makes a reorder wait: see `baton.deals.service.move_deal`).
The unique index `uq_deals_board_rank` stays the guard against anything written by
hand.

`position_between` picks the shortest position whose every extension sorts strictly
between two neighbours; positions only grow when a gap is split again and again.
Appends (a new deal, a drop at the end of a column) are the common case and step by
one at a fixed precision instead, so a column takes millions of them before it runs
out of room. When a position would push a rank past 64 characters the caller
rebalances the column (`evenly_spaced`), which happens after hundreds of inserts
into the same spot.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Final

DIGITS: Final = "0123456789abcdefghijklmnopqrstuvwxyz"
BASE: Final = 36
MAX_LENGTH: Final = 64
# 36**25 > 2**128: every uuid has its own suffix of fixed length.
ID_DIGITS: Final = 25
MAX_POSITION: Final = MAX_LENGTH - ID_DIGITS
# A rebalanced column leaves about this many free positions between neighbours,
# so the next few hundred moves into any gap fit without another rebalance.
REBALANCE_ROOM: Final = BASE * BASE
# Appends step by one at this precision: 36**6 ≈ 2.2e9 slots. Taking the smallest
# step at the shortest precision instead ran out of room after about a thousand
# appends (bench/sales.py), and a rebalance rewrites the whole column.
APPEND_PRECISION: Final = 6


def id_suffix(card_id: uuid.UUID) -> str:
    return _digits(card_id.int, ID_DIGITS)


def rank_of(position: str, card_id: uuid.UUID) -> str:
    return position + id_suffix(card_id)


def _digits(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, digit = divmod(value, BASE)
        out.append(DIGITS[digit])
    if value:
        raise ValueError("value does not fit the width")
    return "".join(reversed(out))


def _floor(rank: str, precision: int) -> int:
    """The first `precision` digits of `rank` (zero-padded) as an integer."""
    return int(rank[:precision].ljust(precision, "0"), BASE)


def position_between(lo: str | None, hi: str | None) -> str | None:
    """The shortest position P such that every rank starting with P sorts strictly
    after `lo` and before `hi` (None: the column's start or end); None when that
    would take more than `MAX_POSITION` digits (time to rebalance).

    P's digits are strictly above `lo`'s first digits and strictly below `hi`'s, so
    no suffix can carry it past either neighbour. Appending (no `hi`) steps by one
    at `APPEND_PRECISION` digits while that range lasts.
    """
    if lo is not None and hi is not None and lo >= hi:
        raise ValueError("lo must sort before hi")
    if hi is None:
        # An empty column starts in the middle, leaving room on both sides.
        step_from = _floor(lo, APPEND_PRECISION) if lo is not None else BASE**APPEND_PRECISION // 2
        if step_from + 1 < BASE**APPEND_PRECISION:
            return _digits(step_from + 1, APPEND_PRECISION)
    for precision in range(1, MAX_POSITION + 1):
        # Below lo's digits there is nothing to avoid at the top of a column, but a
        # position of all zeros would leave no room before it: start at 1.
        low = _floor(lo, precision) if lo is not None else 0
        high = _floor(hi, precision) if hi is not None else BASE**precision
        if high - low >= 2:
            value = low + 1 if hi is None else (low + high) // 2
            return _digits(value, precision)
    return None


def evenly_spaced(count: int) -> list[str]:
    """`count` positions of one width, spread evenly over the first half of the range:
    the second half stays free for the appends that follow."""
    width = 1
    while BASE**width < 2 * (count + 1) * REBALANCE_ROOM:
        width += 1
    half = BASE**width // 2
    return [_digits((index + 1) * half // (count + 1), width) for index in range(count)]


def rebalanced(
    cards: Sequence[tuple[uuid.UUID, str]], moving: uuid.UUID, after: str | None
) -> tuple[dict[uuid.UUID, str], str]:
    """New ranks for a column whose gap at `after` is full: every card in `cards`
    (id, rank; in rank order, `moving` left out) gets an evenly spaced position, and
    the moving card the slot right after the card ranked `after` (None: the top).
    Returns the other cards' new ranks and the moving card's.
    """
    order = [card_id for card_id, _ in cards]
    slot = sum(1 for _, rank in cards if after is not None and rank <= after)
    order.insert(slot, moving)
    positions = evenly_spaced(len(order))
    ranks = {
        card_id: rank_of(position, card_id)
        for card_id, position in zip(order, positions, strict=True)
    }
    return {card_id: ranks[card_id] for card_id in order if card_id != moving}, ranks[moving]
