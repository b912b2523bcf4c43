"""Effects: named actions a transition runs inside the move's own transaction.

A transition stores its effects as ``[{"name": …, "config": {…}}]``. The domain that
implements an effect registers it here with a typed config and the kinds of record
it serves (``hand_over`` means one thing for a work item and another for a lead).
Saving a transition validates every name and config, so an unknown or mis-set
effect is refused when the admin saves it, not when a record moves. Effects run
after the step change, in the same transaction: if one fails, the move did not
happen either.

To add an effect: write its config schema and an async ``run`` in the domain's
``effects.py``, call `register` there, and list the module in `EFFECT_MODULES`.
"""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from baton.core.context import Ctx
from baton.core.errors import FieldError, RuleViolation, ValidationFailed
from baton.core.schemas import Schema
from baton.workflow.engine import EffectSpec, Move
from baton.workflow.models import EntityType

# Domains that register effects; imported on first use so every entry point
# (app, CLI, tests) sees the same registry without import-order surprises.
EFFECT_MODULES = (
    "baton.activities.effects",
    "baton.cadences.effects",
    "baton.leads.effects",
    "baton.notifications.effects",
    "baton.workitems.effects",
)
MAX_EFFECTS_PER_TRANSITION = 10
_PLACEHOLDER = re.compile(r"\{(title|from_step|to_step)\}")


@dataclass(frozen=True, slots=True)
class MovedRecord:
    """The record a transition moved, as effects see it."""

    entity_type: EntityType
    id: uuid.UUID
    title: str
    owner_id: uuid.UUID | None


def fill_placeholders(template: str, record: MovedRecord, move: Move) -> str:
    """`{title}`, `{from_step}` and `{to_step}` filled in, in one pass (a title that
    itself contains `{to_step}` stays as written); any other braces stay too."""
    values = {"title": record.title, "from_step": move.from_step.name, "to_step": move.to_step.name}
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


ConfigT = TypeVar("ConfigT", bound=Schema)


@dataclass(frozen=True)
class EffectDefinition(Generic[ConfigT]):
    name: str
    # One line for the admin who picks it.
    summary: str
    config_model: type[ConfigT]
    run: Callable[[Ctx, MovedRecord, Move, ConfigT], Awaitable[None]]
    # What a dry run reports it would do.
    describe: Callable[[ConfigT], str]
    # None: every kind of record.
    entity_types: frozenset[EntityType] | None = None
    # Checks that need the database (a named user is a member …), run at save time.
    check: Callable[[Ctx, ConfigT], Awaitable[list[str]]] | None = None


@dataclass(frozen=True, slots=True)
class PlannedEffect:
    name: str
    description: str


_registry: dict[tuple[str, EntityType | None], EffectDefinition[Any]] = {}
_loaded = False


def register(definition: EffectDefinition[Any]) -> None:
    """Make an effect available; a second definition for the same name and kind is a bug."""
    kinds: Sequence[EntityType | None] = (
        sorted(definition.entity_types) if definition.entity_types is not None else [None]
    )
    for kind in kinds:
        key = (definition.name, kind)
        if key in _registry:
            raise ValueError(f"effect {definition.name!r} is already registered for {kind}")
        _registry[key] = definition


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        for module in EFFECT_MODULES:
            importlib.import_module(module)
        _loaded = True


def definition_for(name: str, entity_type: EntityType) -> EffectDefinition[Any] | None:
    """The effect for this kind of record: its own definition first, then a generic one."""
    _ensure_loaded()
    return _registry.get((name, entity_type)) or _registry.get((name, None))


def available_effects(entity_type: EntityType | str) -> list[EffectDefinition[Any]]:
    """Every effect a transition of a workflow for `entity_type` may carry, by name."""
    kind = EntityType(entity_type)
    _ensure_loaded()
    names = sorted({name for name, _ in _registry})
    found = (definition_for(name, kind) for name in names)
    return [definition for definition in found if definition is not None]


async def validate_effects(
    ctx: Ctx, entity_type: EntityType | str, effects: Sequence[tuple[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Effects as stored, or 422 naming each unknown effect and each bad config value."""
    kind = EntityType(entity_type)
    errors: list[FieldError] = []
    stored: list[dict[str, Any]] = []
    for index, (name, raw_config) in enumerate(effects):
        where = f"effects[{index}]"
        definition = definition_for(name, kind)
        if definition is None:
            known = ", ".join(d.name for d in available_effects(kind)) or "none"
            errors.append(
                FieldError(
                    f"{where}.name", f"'{name}' is not an effect for {kind} (known: {known})"
                )
            )
            continue
        try:
            config = definition.config_model.model_validate(raw_config)
        except ValidationError as exc:
            errors.extend(
                FieldError(
                    ".".join([where, "config", *(str(part) for part in error["loc"])]),
                    error["msg"],
                )
                for error in exc.errors()
            )
            continue
        if definition.check is not None:
            errors.extend(
                FieldError(f"{where}.config", message)
                for message in await definition.check(ctx, config)
            )
        stored.append({"name": name, "config": config.model_dump(mode="json")})
    if errors:
        raise ValidationFailed("The transition's effects are not valid", errors=errors)
    return stored


def _resolve(spec: EffectSpec, kind: EntityType) -> tuple[EffectDefinition[Any], Schema]:
    definition = definition_for(spec.name, kind)
    if definition is None:
        # Saved before its domain existed (a seeded effect), or its domain was removed.
        raise RuleViolation(
            f"This transition runs the effect '{spec.name}', which is not available "
            f"for {kind} records; an admin must remove it from the workflow"
        )
    return definition, definition.config_model.model_validate(dict(spec.config))


def planned_effects(kind: EntityType, move: Move) -> list[PlannedEffect]:
    """What the move's effects would do, for dry runs and the UI."""
    planned = []
    for spec in move.edge.effects:
        definition, config = _resolve(spec, kind)
        planned.append(PlannedEffect(spec.name, definition.describe(config)))
    return planned


async def run_effects(ctx: Ctx, record: MovedRecord, move: Move) -> int:
    """Run the move's effects in order, in the caller's transaction; returns how many ran."""
    for spec in move.edge.effects:
        definition, config = _resolve(spec, record.entity_type)
        await definition.run(ctx, record, move, config)
    return len(move.edge.effects)
