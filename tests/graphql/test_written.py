"""Deal nodes the list's statement writes as JSON (`baton.graphql.written`) answer
what the same nodes completed field by field answer: the same values, in the same
order, the same cursors and pages."""

from __future__ import annotations

from typing import Any

import httpx

from baton.db.engine import Database
from tests.deals.conftest import Org
from tests.graphql.support import gql
from tests.identity.test_statement_counts import counted

# Every field the statement can write, through a fragment, with an alias, a field
# asked twice and a skipped one.
CARD = """
fragment Card on Deal { id name accountId contactId ownerId amount currency probability
  expectedCloseDate nextStep nextStepDueDate outcome winReason lossReason
  closedAt source need notes workflowId enteredStepAt createdAt updatedAt version
  step { id key name category order __typename } account { id name __typename }
  owner { id fullName } __typename
  title: name id closeNotes @skip(if: $skip) }
"""
WRITTEN = (
    CARD
    + """query($first: Int!, $after: String, $filter: DealFilter, $skip: Boolean!) {
  deals(first: $first, after: $after, filter: $filter) {
    edges { cursor node { ...Card } } pageInfo { hasNextPage endCursor } } }"""
)
# A contact cannot be written: the same nodes completed the usual way.
USUAL = WRITTEN.replace(
    "edges { cursor node { ...Card }", "edges { cursor node { ...Card contact { id } }"
)


async def _both(
    client: httpx.AsyncClient, org: Org, database: Database, **variables: Any
) -> tuple[dict[str, Any], dict[str, Any], int]:
    given = {"first": 50, "after": None, "filter": None, "skip": False, **variables}
    with counted(database) as statements:
        written = await gql(client, org.sales, WRITTEN, given)
    usual = await gql(client, org.sales, USUAL, given)
    assert "errors" not in written, written
    assert "errors" not in usual, usual
    for edge in usual["data"]["deals"]["edges"]:
        assert edge["node"].pop("contact") is None
    return written["data"]["deals"], usual["data"]["deals"], len(statements)


async def test_written_nodes_answer_what_completed_nodes_answer(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    await org.create(client, amount="12.50", probability=35, source="Fair \u2013 M\u00fcnchen")
    await org.create(
        client,
        name='He said "stop"\\ \n\ttab',
        amount="1000000",
        expected_close_date="2031-02-28",
        need="a need",
        notes="line one\nline two \U0001f600",
    )
    moved = await org.create(client, amount="0.10")
    assert (await org.move(client, moved, "discovery")).status_code == 200
    closed = await org.create(client)
    assert (await org.close(client, closed, outcome="lost", reason="competitor")).status_code == 200

    written, usual, statements = await _both(client, org, database)
    assert len(written["edges"]) == 4
    assert written == usual
    # As the document orders them (JSON objects compare without order).
    for ours, theirs in zip(written["edges"], usual["edges"], strict=True):
        assert list(ours["node"]) == list(theirs["node"])
        assert list(ours["node"]["step"]) == list(theirs["node"]["step"])
    assert {e["node"]["outcome"] for e in written["edges"]} == {None, "lost"}
    assert any(e["node"]["closedAt"] for e in written["edges"])
    # authenticate and the page: nothing loaded node by node
    assert statements == 2

    skipped, usual_skipped, _ = await _both(client, org, database, skip=True)
    assert skipped == usual_skipped
    assert "closeNotes" not in skipped["edges"][0]["node"]
    assert "closeNotes" in written["edges"][0]["node"]


async def test_written_pages_follow_the_sort_and_cursor(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    for amount in ("5.00", "7.25", None, "7.25", "1.00"):
        await org.create(client, **({"amount": amount} if amount else {}))
    seen: list[str] = []
    after = None
    while True:
        written, usual, _ = await _both(
            client, org, database, first=2, after=after, filter={"sort": "-amount"}
        )
        assert written == usual
        seen += [e["node"]["amount"] for e in written["edges"]]
        after = written["pageInfo"]["endCursor"]
        if not written["pageInfo"]["hasNextPage"]:
            break
    assert seen == ["7.25", "7.25", "5.00", "1.00", None]


async def test_written_lists_take_each_requests_filters(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    """The statement compiled for one request serves the next of the same shape with
    that request's own values."""
    for amount in ("5.00", "7.25", "9.00"):
        await org.create(client, amount=amount, expected_close_date="2031-03-15")
    moved = await org.create(client, amount="8.00", expected_close_date="2031-04-01")
    assert (await org.move(client, moved, "discovery")).status_code == 200
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"amountMin": "7", "sort": "amount"}, ["7.25", "8.00", "9.00"]),
        ({"amountMin": "8.5", "sort": "amount"}, ["9.00"]),
        ({"amountMax": "7.25", "closeMonth": "2031-03"}, ["5.00", "7.25"]),
        ({"amountMax": "9", "closeMonth": "2031-04"}, ["8.00"]),
        ({"stage": "discovery", "view": "PIPELINE"}, ["8.00"]),
        ({"stage": "prospecting", "view": "PIPELINE", "sort": "-amount"}, ["9.00", "7.25", "5.00"]),
        ({"view": "MINE", "overdue": False, "sort": "amount"}, ["5.00", "7.25", "8.00", "9.00"]),
        ({"view": "OVERDUE"}, []),
    ]
    for given, amounts in cases:
        written, usual, _ = await _both(client, org, database, filter=given)
        assert written == usual, given
        assert [e["node"]["amount"] for e in written["edges"]] == amounts, given
