"""`RouteIndex`: find a request's route by its leading path segments, not by trying all.

FastAPI (0.16x) matches a request by asking every included router, and each router
every route it holds, whether the path fits — twice, once to choose and once to
handle — through scope bookkeeping per candidate. With Baton's ~20 routers that cost
80 to 260 µs a request on the 2-core machine (a deal move 95 µs, the pipeline page
260 µs), a tenth of a whole move. The index groups the same route objects by the
literal segments their paths start with and tries only the routes a path can reach,
in their registration order, so the first match wins exactly as before.

The app keeps its routers as they were included (OpenAPI, and the fallback for paths
no route fits: 404s, and 405s, which the router answers after trying everything).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Request, Response, params
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from starlette.routing import BaseRoute, Match, NoMatchFound, Route
from starlette.types import Receive, Scope, Send

from baton.core.auth import get_ctx, get_principal
from baton.core.context import Ctx

# Segments a key holds: "/api/v1/deals/{deal_id}/move" is filed under (api, v1, deals).
_KEY_DEPTH = 3

_Key = tuple[str, ...]


def _literal_key(path: str) -> _Key:
    """The path's leading literal segments, up to the key depth."""
    key: list[str] = []
    for segment in path.strip("/").split("/")[:_KEY_DEPTH]:
        if not segment or "{" in segment:
            break
        key.append(segment)
    return tuple(key)


def _request_key(path: str) -> _Key:
    return tuple(path.strip("/").split("/", _KEY_DEPTH)[:_KEY_DEPTH])


class RouteIndex(BaseRoute):
    """The given routes, each filed under its path's literal prefix (see the module)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = list(routes)
        # Paths without parameters, and their routes: such a path is theirs alone.
        self._literal: dict[str, list[Route]] = {}
        for route in self.routes:
            if "{" not in route.path:
                self._literal.setdefault(route.path, []).append(route)
        filed: dict[_Key, list[tuple[int, Route]]] = {}
        for order, route in enumerate(self.routes):
            filed.setdefault(_literal_key(route.path), []).append((order, route))
        # For every prefix of every key, the routes a path with that prefix can reach:
        # those filed under the prefix itself or under any shorter prefix of it.
        prefixes = {key[:depth] for key in filed for depth in range(len(key) + 1)}
        self._reachable: dict[_Key, Sequence[Route]] = {
            prefix: [
                route
                for _, route in sorted(
                    entry
                    for depth in range(len(prefix) + 1)
                    for entry in filed.get(prefix[:depth], ())
                )
            ]
            for prefix in prefixes
        }

    def _candidates(self, path: str) -> Sequence[Route]:
        # `/api/v1/targets/summary` is the summary's path with any method: a PATCH to
        # it is a 405 listing the summary's methods, not `/targets/{target_id}` taking
        # "summary" for an id (a 422 naming target_id, and an `Allow` of its methods).
        literal = self._literal.get(path)
        if literal is not None:
            return literal
        key = _request_key(path)
        for depth in range(len(key), -1, -1):
            found = self._reachable.get(key[:depth])
            if found is not None:
                return found
        return ()

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        for route in self._candidates(self._path(scope)):
            match, child_scope = route.matches(scope)
            # A path that fits with the wrong method (405) is left to the app's
            # router, which answers it after trying every route, as without the index.
            if match is Match.FULL:
                return match, {**child_scope, "route": route}
        literal = self._literal.get(self._path(scope))
        if literal:
            # The path's own route answers the wrong method: a 405 (Route.handle), so
            # the app's routers never offer the path to a route with a parameter.
            return Match.FULL, {**literal[0].matches(scope)[1], "route": literal[0]}
        return Match.NONE, {}

    def methods_for(self, scope: Scope) -> list[str]:
        """Every method some route answers on the scope's path, sorted: the `Allow` of a
        405 (FastAPI's names only the first route whose path fits)."""
        methods: set[str] = set()
        for route in self._candidates(self._path(scope)):
            if route.methods and route.matches(scope)[0] is not Match.NONE:
                methods |= route.methods
        return sorted(methods)

    @staticmethod
    def _path(scope: Scope) -> str:
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        return path

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: BaseRoute = scope["route"]
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)


_SPECIAL_PARAMETERS = (
    "request_param_name",
    "websocket_param_name",
    "http_connection_param_name",
    "response_param_name",
    "background_tasks_param_name",
    "security_scopes_param_name",
)


class JsonRoute(APIRoute):
    """Authentication comes first on every route that needs a caller: without one the
    answer is 401 whatever the parameters and body (they are not even parsed).

    An API route whose endpoint takes only path parameters, at most one required
    JSON body model, the request's `Ctx` and the caller (`get_principal`, as a
    parameter or the router's dependency), and answers its declared model as plain
    JSON, runs without FastAPI's general request handler.

    That handler solves dependencies recursively, parses the content type with the
    email package and validates through several layers: ~240 µs a work-item move on
    the 2-core machine, where this one takes ~60 µs (bench/work_item_move). Every
    other route — queries, headers, forms, optional bodies, other dependencies or
    response options — falls back to FastAPI's handler. Errors take the app's usual
    paths: `RequestValidationError` for bad input (422 with the same field names),
    `DomainError`s from the service.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        plan = _DirectPlan.of(self)
        if plan is not None:
            return plan.handle
        handler = super().get_route_handler()
        if not requires_principal(self.dependant):
            return handler

        async def authenticated_first(request: Request) -> Response:
            # FastAPI's handler parses the body before it solves dependencies, so an
            # unparsable body would be 422 before `get_principal` could say 401. The
            # caller is checked first, as on the direct path: an anonymous request
            # learns nothing about the shape of what it may not send.
            ctx: Ctx = request.state.ctx
            ctx.require_principal()
            return await handler(request)

        return authenticated_first


def requires_principal(dependant: Dependant) -> bool:
    """`get_principal` is among the route's dependencies, at any depth."""
    return any(
        sub.call is get_principal or requires_principal(sub) for sub in dependant.dependencies
    )


@dataclass(frozen=True)
class _DirectPlan:
    endpoint: Callable[..., Awaitable[Any]]
    path: tuple[tuple[str, TypeAdapter[Any]], ...]
    body: tuple[str, TypeAdapter[Any]] | None
    ctx_names: tuple[str, ...]
    principal_names: tuple[str, ...]
    requires_principal: bool
    answer: TypeAdapter[Any] | None
    status_code: int

    @classmethod
    def of(cls, route: APIRoute) -> _DirectPlan | None:
        dependant = route.dependant
        if not inspect.iscoroutinefunction(route.endpoint):
            return None
        if dependant.query_params or dependant.header_params or dependant.cookie_params:
            return None
        if any(getattr(dependant, name) for name in _SPECIAL_PARAMETERS):
            return None
        if len(dependant.body_params) > 1 or any(
            # A form or file body, an optional one, or one embedded under its name.
            type(field.field_info) is not params.Body
            or field.field_info.embed
            or not field.field_info.is_required()
            for field in dependant.body_params
        ):
            return None
        if not _answers_plainly(route):
            return None
        ctx_names: list[str] = []
        principal_names: list[str] = []
        requires_principal = False
        for sub in dependant.dependencies:
            if sub.call is get_ctx and sub.name:
                ctx_names.append(sub.name)
            elif sub.call is get_principal:
                requires_principal = True
                if sub.name:
                    principal_names.append(sub.name)
            else:
                return None
        body = None
        if dependant.body_params:
            field = dependant.body_params[0]
            body = (field.name, _adapter(field.field_info))
        answer = route.response_model
        return cls(
            endpoint=route.endpoint,
            path=tuple((field.name, _adapter(field.field_info)) for field in dependant.path_params),
            body=body,
            ctx_names=tuple(ctx_names),
            principal_names=tuple(principal_names),
            requires_principal=requires_principal,
            answer=TypeAdapter(answer) if answer is not None else None,
            status_code=route.status_code or 200,
        )

    async def handle(self, request: Request) -> Response:
        ctx: Ctx = request.state.ctx
        arguments: dict[str, Any] = {name: ctx for name in self.ctx_names}
        if self.requires_principal:
            principal = ctx.require_principal()
            arguments.update((name, principal) for name in self.principal_names)
        errors: list[dict[str, Any]] = []
        for name, adapter in self.path:
            try:
                arguments[name] = adapter.validate_python(request.path_params[name])
            except ValidationError as error:
                errors += _located(error, "path", name)
        if self.body is not None:
            name, adapter = self.body
            raw = await request.body()
            if not _is_json(request.headers.get("content-type")):
                errors.append(_NOT_JSON)
            else:
                try:
                    arguments[name] = adapter.validate_json(raw)
                except ValidationError as error:
                    errors += _located(error, "body")
        if errors:
            raise RequestValidationError(errors)
        result = await self.endpoint(**arguments)
        if isinstance(result, Response):
            return result
        if self.status_code == 204:
            return Response(status_code=204)
        if self.answer is None:
            return JSONResponse(jsonable_encoder(result), status_code=self.status_code)
        # Validated as FastAPI does: an instance of a subclass answers only the
        # declared model's fields.
        body_bytes = self.answer.dump_json(self.answer.validate_python(result), by_alias=True)
        return Response(body_bytes, status_code=self.status_code, media_type="application/json")


def _answers_plainly(route: APIRoute) -> bool:
    """The answer is the default JSON of the declared model, as FastAPI writes it with
    its defaults: no other response class, no include/exclude options."""
    return (
        isinstance(route.response_class, DefaultPlaceholder)
        and route.response_model_include is None
        and route.response_model_exclude is None
        and route.response_model_by_alias
        and not route.response_model_exclude_unset
        and not route.response_model_exclude_defaults
        and not route.response_model_exclude_none
    )


def _adapter(info: FieldInfo) -> TypeAdapter[Any]:
    """The parameter's type with its constraints (`Path(…)`, `Field(…)`), as FastAPI
    builds it."""
    shape: Any = Annotated[info.annotation, info]
    return TypeAdapter(shape)


_NOT_JSON = {
    "type": "model_attributes_type",
    "loc": ("body",),
    "msg": "Input should be a JSON object sent as application/json",
    "input": None,
}


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("application/") and (
        media == "application/json" or media.endswith("+json")
    )


def _located(error: ValidationError, *prefix: str) -> list[dict[str, Any]]:
    return [{**detail, "loc": (*prefix, *detail["loc"])} for detail in error.errors()]
