"""The cost limit: a query may name at most `MAX_COST` values.

Each field costs 1 for every record it is asked on; a field taking `first` multiplies
what is under it by that page size (by the most a page holds when `first` is a
variable, and by the default page when it is left out). The board of 200 deals with
account, owner and step costs about 4 000; a query over `MAX_COST` is refused before
anything runs.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

from baton.core.pagination import MAX_PAGE_SIZE

MAX_COST = 10_000
DEFAULT_PAGE = 50
PAGED_FIELDS = frozenset({"deals", "leads", "accounts", "contacts", "activities", "workItems"})


def _page(field: FieldNode) -> int:
    for argument in field.arguments or ():
        if argument.name.value == "first":
            if isinstance(argument.value, IntValueNode):
                return max(1, min(int(argument.value.value), MAX_PAGE_SIZE))
            return MAX_PAGE_SIZE
    return DEFAULT_PAGE


class CostLimit(ValidationRule):
    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.fragments: dict[str, FragmentDefinitionNode] = {
            d.name.value: d
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        cost = self._cost(node.selection_set, 1, set())
        if cost > MAX_COST:
            self.report_error(
                GraphQLError(
                    f"The query would cost {cost}, over the limit of {MAX_COST}: ask for "
                    "fewer records (first) or fewer fields",
                    node,
                    extensions={"code": "COST_LIMIT", "cost": cost, "limit": MAX_COST},
                )
            )

    def _cost(self, selections: SelectionSetNode | None, each: int, seen: set[str]) -> int:
        if selections is None:
            return 0
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += each
                inner = each * _page(selection) if selection.name.value in PAGED_FIELDS else each
                total += self._cost(selection.selection_set, inner, seen)
            elif isinstance(selection, InlineFragmentNode):
                total += self._cost(selection.selection_set, each, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    total += self._cost(fragment.selection_set, each, seen | {name})
            if total > MAX_COST * 10:
                break  # refused anyway; stop counting
        return total
