"""The executor: graphql-core's, with plain fields completed without a resolver call.

graphql-core resolves every field the same way: it builds a `ResolveInfo`, calls the
resolver (Strawberry's wrapper around `getattr`), then walks the field's type to
complete the value. A board of 200 deals with step, account and owner is ~3 600 such
fields, and that walk was 85 % of the request (docs/benchmarks.md). Most of them are
plain: a scalar, enum or object attribute of an object the resolver above already
built, or a link (`types.link`) whose record the request's loader already holds.

`BatonExecutor.execute_fields` plans each selection set once per request — which of
its fields are plain and how to complete them — and completes those directly: the
attribute, the leaf type's `coerce_output_value`, or the object's own selection set.
Everything else goes the usual way (`execute_field`): fields with resolvers or
arguments, lists, abstract types, `__typename`, a link not loaded yet, a deferred
fragment. Whenever a plain field would answer an error (a null for a non-null field,
a value its scalar refuses) it goes the usual way too, which answers the same error
as it always did: the shortcut only ever skips work, never a check.

A resolver may also hand objects the database already wrote as JSON for exactly the
selection asked of them (`Written`: the `deals` board's nodes, `baton.graphql.
written`): the executor splices that JSON in as the object's whole result, after
checking that the selection it completes has the shape the JSON was written for.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    FieldNode,
    GraphQLLeafType,
    GraphQLObjectType,
    GraphQLOutputType,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetails
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from baton.graphql.context import GraphContext
from baton.graphql.links import LINK, Link

SLOW, LEAF, OBJECT, LINKED, LIST = range(5)

# A selection's shape: per response name, in order, the field's name and the shape of
# its own selection (None for a leaf).
Shape = tuple[tuple[str, str, "Shape | None"], ...]


@dataclass(frozen=True, slots=True)
class Written:
    """An object's whole result, written as JSON (by the database) for a selection of
    `shape`; the executor splices it in (the answer is written with orjson)."""

    json: orjson.Fragment
    shape: Shape


@dataclass(frozen=True, slots=True)
class PlannedField:
    kind: int
    response_name: str
    details: Any  # graphql-core's FieldDetailsList
    return_type: GraphQLOutputType
    named_type: Any  # the leaf or object type under a non-null wrapper
    attribute: str
    link: Link | None


class BatonExecutor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Keyed by the grouped field set's identity (graphql-core memoizes it per
        # selection and type); the set is kept alive with its plan.
        self._plans: dict[int, tuple[Any, list[PlannedField]]] = {}
        self._shapes: dict[int, tuple[Any, Shape | None]] = {}
        # The written shape a field's selection was checked against, by the field's
        # details (kept alive with it).
        self._written_for: dict[int, tuple[Any, Shape]] = {}
        if isinstance(self.context_value, GraphContext):
            self.context_value.executor = self

    def shape(self, object_type: GraphQLObjectType, grouped: Any) -> Shape | None:
        """The shape of a grouped field set of `object_type`; None when a field takes
        arguments, is deferred or is of an abstract type (nothing is written then)."""
        found = self._shapes.get(id(grouped))
        if found is not None:
            return found[1]
        fields: list[tuple[str, str, Shape | None]] = []
        for name, details in grouped.items():
            field_name = details[0].node.name.value
            sub: Shape | None = None
            definition = (
                None
                if field_name == "__typename"
                else self.schema.get_field(object_type, field_name)
            )
            if any(d.node.arguments or d.defer_usage for d in details):
                fields = []
                break
            if definition is not None:
                named = get_named_type(definition.type)
                if is_object_type(named):
                    collected, deferred, *_ = self.collect_subfields(named, details)
                    sub = None if deferred else self.shape(named, collected)
                    if sub is None:
                        fields = []
                        break
                elif not is_leaf_type(named):
                    fields = []
                    break
            fields.append((name, field_name, sub))
        shape = tuple(fields) if fields else None
        self._shapes[id(grouped)] = (grouped, shape)
        return shape

    def shape_under(
        self, field_nodes: list[FieldNode], return_type: Any, path: tuple[str, ...]
    ) -> tuple[GraphQLObjectType, Shape] | None:
        """For a resolver: the type and shape of what its field's selection asks at
        `path` (e.g. ("edges", "node") of a connection), as this executor will collect
        it; None unless exactly one field answers each step of the path."""
        details = [FieldDetails(node, None) for node in field_nodes]
        named = get_named_type(return_type)
        for step in path:
            if not is_object_type(named):
                return None
            grouped, deferred, *_ = self.collect_subfields(named, details)
            keys = [k for k, found in grouped.items() if found[0].node.name.value == step]
            if deferred or len(keys) != 1:
                return None
            details = grouped[keys[0]]
            if any(d.node.arguments or d.defer_usage for d in details):
                return None
            definition = self.schema.get_field(named, step)
            if definition is None:
                return None
            named = get_named_type(definition.type)
        if not is_object_type(named):
            return None
        grouped, deferred, *_ = self.collect_subfields(named, details)
        shape = None if deferred else self.shape(named, grouped)
        return None if shape is None else (named, shape)

    def _written(self, parent_type: GraphQLObjectType, written: Written, grouped: Any) -> Any:
        shape = self.shape(parent_type, grouped)
        if shape is not written.shape and shape != written.shape:
            # Never expected: the resolver asked this executor for the shape.
            raise RuntimeError("An object was written for another selection")
        return written.json

    def _plan(self, parent_type: GraphQLObjectType, grouped: Any) -> list[PlannedField]:
        found = self._plans.get(id(grouped))
        if found is not None:
            return found[1]
        plain_allowed = not (self.middleware_manager and self.middleware_manager.middlewares)
        plan = [
            _planned(self.schema.get_field(parent_type, details[0].node.name.value), name, details)
            if plain_allowed
            else PlannedField(SLOW, name, details, None, None, "", None)  # type: ignore[arg-type]
            for name, details in grouped.items()
        ]
        self._plans[id(grouped)] = (grouped, plan)
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        if type(source_value) is Written:
            return self._written(parent_type, source_value, grouped_field_set)
        results: dict[str, Any] = {}
        awaited: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for field in self._plan(parent_type, grouped_field_set):
                name = field.response_name
                kind = field.kind
                if kind == LEAF:
                    # The hot path (most fields of a page): inline, never awaitable.
                    value = getattr(source_value, field.attribute)
                    if value is not None:
                        result = _coerced(field.named_type, value)
                        if result is not Undefined:
                            results[name] = result
                            continue
                    elif field.return_type is field.named_type:
                        results[name] = None
                        continue
                    result = Undefined
                elif kind == OBJECT:
                    value = getattr(source_value, field.attribute)
                    result = self._object(field, value, parent_type, path, position_context)
                elif kind == LIST:
                    value = getattr(source_value, field.attribute)
                    result = self._list(field, value, parent_type, path, position_context)
                elif kind == LINKED:
                    assert field.link is not None
                    loaded, value = field.link.loaded(source_value, self.context_value)
                    result = (
                        self._object(field, value, parent_type, path, position_context)
                        if loaded
                        else Undefined
                    )
                else:
                    result = Undefined
                if result is Undefined:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        field.details,
                        Path(path, name, parent_type.name),
                        position_context,
                    )
                    if result is Undefined:
                        continue
                results[name] = result
                if type(result) is not dict and is_awaitable(result):
                    awaited.append(name)
        except Exception:
            if awaited:
                self.settle_in_background([results[name] for name in awaited])
            raise
        if not awaited:
            return results
        return _gathered(results, awaited)

    def _object(
        self,
        field: PlannedField,
        value: Any,
        parent_type: GraphQLObjectType,
        path: Path | None,
        position_context: Any,
    ) -> Any:
        """The object's selection set completed directly; Undefined: go the usual way."""
        if value is None:
            return Undefined if field.return_type is not field.named_type else None
        if type(value) is Written:
            # Checked once per field's selection (`_written`), then spliced as is.
            verified = self._written_for.get(id(field.details))
            if verified is not None and verified[1] is value.shape:
                return value.json
        grouped, deferred, *_ = self.collect_subfields(field.named_type, field.details)
        if deferred:
            return Undefined
        field_path = Path(path, field.response_name, parent_type.name)
        try:
            completed = self.execute_fields(
                field.named_type, value, field_path, grouped, position_context
            )
        except Exception as error:
            self.handle_field_error(error, field.return_type, field.details, field_path)
            return None
        if type(value) is Written:
            self._written_for[id(field.details)] = (field.details, value.shape)
            return completed
        if type(completed) is not dict and self.is_awaitable(completed):
            return self._completed_later(completed, field, field_path)
        return completed

    def _list(
        self,
        field: PlannedField,
        value: Any,
        parent_type: GraphQLObjectType,
        path: Path | None,
        position_context: Any,
    ) -> Any:
        """A list of non-null objects completed directly (an item's error nulls the
        whole list, as graphql-core does for non-null items); Undefined: the usual way."""
        if value is None:
            return Undefined if field.return_type is not field.named_type else None
        item_type = field.named_type.of_type.of_type
        grouped, deferred, *_ = self.collect_subfields(item_type, field.details)
        if deferred or not isinstance(value, list) or any(item is None for item in value):
            return Undefined
        field_path = Path(path, field.response_name, parent_type.name)
        completed: list[Any] = []
        awaited: list[int] = []
        try:
            for index, item in enumerate(value):
                done = self.execute_fields(
                    item_type, item, Path(field_path, index, None), grouped, position_context
                )
                if type(done) is not dict and self.is_awaitable(done):
                    awaited.append(index)
                completed.append(done)
        except Exception as error:
            if awaited:
                self.settle_in_background([completed[index] for index in awaited])
            self.handle_field_error(error, field.return_type, field.details, field_path)
            return None
        if awaited:
            return self._completed_later(_listed_later(completed, awaited), field, field_path)
        return completed

    async def _completed_later(
        self, completed: Awaitable[Any], field: PlannedField, field_path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as error:
            self.handle_field_error(error, field.return_type, field.details, field_path)
            return None


async def _gathered(results: dict[str, Any], awaited: list[str]) -> dict[str, Any]:
    """The results with their awaitables' values (as graphql-core's `execute_fields`)."""
    if len(awaited) == 1:
        results[awaited[0]] = await results[awaited[0]]
        return results
    values = await gather_with_cancel(*(results[name] for name in awaited))
    results.update(zip(awaited, values, strict=True))
    return results


async def _listed_later(completed: list[Any], awaited: list[int]) -> list[Any]:
    values = await gather_with_cancel(*(completed[index] for index in awaited))
    for index, item in zip(awaited, values, strict=True):
        completed[index] = item
    return completed


def _coerced(leaf: Any, value: Any) -> Any:
    """A leaf's output value; Undefined when its scalar refuses it (the usual way
    then answers the error)."""
    try:
        coerced = leaf.coerce_output_value(value)
    except Exception:
        return Undefined
    return Undefined if coerced is None else coerced


def _planned(definition: Any, name: str, details: Any) -> PlannedField:
    """How a field of the selection is completed: plain (no resolver call) or the
    usual way."""
    slow = PlannedField(SLOW, name, details, None, None, "", None)  # type: ignore[arg-type]
    if definition is None or any(d.node.arguments for d in details):
        return slow
    strawberry_field = (definition.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(strawberry_field, StrawberryField):
        return slow
    return_type = definition.type
    named = return_type.of_type if is_non_null_type(return_type) else return_type
    metadata: Mapping[Any, Any] = strawberry_field.metadata or {}
    link = metadata.get(LINK)
    if isinstance(link, Link):
        if is_object_type(named) and named.is_type_of is None:
            return PlannedField(LINKED, name, details, return_type, named, "", link)
        return slow
    if not getattr(definition.resolve, "_is_default", False):
        return slow
    attribute = strawberry_field.python_name
    if is_leaf_type(named):
        leaf: GraphQLLeafType = named
        return PlannedField(LEAF, name, details, return_type, leaf, attribute, None)
    if is_object_type(named) and named.is_type_of is None:
        return PlannedField(OBJECT, name, details, return_type, named, attribute, None)
    if (
        is_list_type(named)
        and is_non_null_type(named.of_type)
        and is_object_type(named.of_type.of_type)
        and named.of_type.of_type.is_type_of is None
    ):
        return PlannedField(LIST, name, details, return_type, named, attribute, None)
    return slow
