"""Every API error is problem+json (issue 20 point 7, issue 14 defect 7): unknown routes,
wrong methods (with an `Allow` of every method of the path), unreadable bodies; and
pages answer HTML error pages in the layout instead of FastAPI's `{"detail": …}`."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from fastapi.routing import APIRoute
from starlette.routing import Match

from baton.core.routing import RouteIndex
from tests.factories import PASSWORD, Member, register_tenant

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def _is_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.text
    problem: dict[str, Any] = response.json()
    assert problem.keys() >= PROBLEM_KEYS
    assert problem["status"] == status
    return problem


async def test_unknown_api_routes_are_problem_404s(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    for headers in (admin.headers, {}, {**admin.headers, **HTML}):
        for path in ("/api/v1/nothing-here", "/api/v2/deals", "/api", "/api/"):
            problem = _is_problem(await client.get(path, headers=headers), 404)
            assert problem["type"] == "https://baton.dev/problems/not-found"
            assert problem["instance"] == path


def _paths(app: Any) -> dict[str, set[str]]:
    """Each API path template and every method it answers."""
    index = next(route for route in app.router.routes if isinstance(route, RouteIndex))
    methods: dict[str, set[str]] = {}
    for route in index.routes:
        if isinstance(route, APIRoute) and route.path.startswith("/api/"):
            methods.setdefault(route.path, set()).update(route.methods)
    return methods


async def test_a_wrong_method_is_405_allowing_every_method_of_the_path(
    client: httpx.AsyncClient, app: Any
) -> None:
    admin = await register_tenant(client)
    deal = await client.put(f"/api/v1/deals/{uuid.uuid4()}", headers=admin.headers)
    problem = _is_problem(deal, 405)
    assert problem["type"] == "https://baton.dev/problems/method-not-allowed"
    assert deal.headers["allow"] == "DELETE, GET, PATCH"
    index = next(route for route in app.router.routes if isinstance(route, RouteIndex))
    wrong: list[str] = []
    for template, methods in _paths(app).items():
        path = "/".join(
            str(uuid.uuid4()) if part.startswith("{") else part for part in template.split("/")
        )
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - methods:
            # `/work-items/board` is also `/work-items/{work_item_id}`: not a 405.
            scope = {"type": "http", "path": path, "method": method, "root_path": ""}
            if index.matches(scope)[0] is Match.FULL:
                continue
            response = await client.request(method, path, headers=admin.headers)
            allowed = set(response.headers.get("allow", "").split(", "))
            if (
                response.status_code != 405
                or response.headers["content-type"] != "application/problem+json"
                or not methods <= allowed
            ):
                wrong.append(f"{method} {template}: {response.status_code} {allowed}")
    assert not wrong, "\n".join(wrong)


async def test_a_body_that_is_not_utf8_is_a_problem_422(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    not_utf8 = b'{"name": "\xff\xfe"}'
    headers = {**admin.headers, "content-type": "application/json"}
    # One route on FastAPI's handler (If-Match), one on the direct path, one public.
    for method, path in (
        ("PATCH", f"/api/v1/activities/{uuid.uuid4()}"),
        ("POST", "/api/v1/accounts"),
        ("POST", "/api/v1/auth/login"),
    ):
        response = await client.request(method, path, content=not_utf8, headers=headers)
        problem = _is_problem(response, 422)
        assert problem["type"] == "https://baton.dev/problems/validation-failed"
        assert [e["field"] for e in problem["errors"]] == ["body"], problem


async def test_ops_answers_outside_the_api_are_problems_too(client: httpx.AsyncClient) -> None:
    wrong = await client.post("/healthz")
    _is_problem(wrong, 405)
    assert wrong.headers["allow"] == "GET"
    _is_problem(await client.get("/static/no-such-file.js"), 404)


async def test_metrics_are_documented_as_prometheus_text(
    client: httpx.AsyncClient, app: Any
) -> None:
    answer = app.openapi()["paths"]["/metrics"]["get"]["responses"]["200"]
    assert set(answer["content"]) == {"text/plain"}
    served = await client.get("/metrics")
    assert served.headers["content-type"].startswith("text/plain")


# ------------------------------------------------------------------ pages


async def _signed_in(client: httpx.AsyncClient, member: Member) -> None:
    token = CSRF.search((await client.get("/login")).text)
    assert token
    signed = await client.post(
        "/login",
        data={"email": member.email, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert signed.status_code == 303, signed.text


async def test_an_unknown_page_is_an_html_page_with_the_navigation(
    client: httpx.AsyncClient,
) -> None:
    anonymous = await client.get("/no-such-page", headers=HTML)
    assert anonymous.status_code == 404
    assert anonymous.headers["content-type"].startswith("text/html")
    assert "There is no page at this address" in anonymous.text
    assert 'href="/login"' in anonymous.text
    admin = await register_tenant(client)
    await _signed_in(client, admin)
    for path in ("/no-such-page", "/deals/not-an-id", f"/deals/{uuid.uuid4()}x"):
        page = await client.get(path, headers={**HTML, "referer": "http://testserver/accounts"})
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html")
        assert '<nav class="sidebar"' in page.text
        assert 'href="/accounts">Back to the previous page' in page.text
        assert 'href="/">Go to the start page' in page.text
        assert '"detail"' not in page.text
    # A stranger's site in Referer is no way back.
    foreign = await client.get("/nope", headers={**HTML, "referer": "https://evil.example/x"})
    assert "evil.example" not in foreign.text
    # A client that asks for JSON gets a problem, even off /api.
    asked = await client.get("/no-such-page", headers={"accept": "application/json"})
    _is_problem(asked, 404)
    wrong = await client.get("/logout", headers=HTML)
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"
    assert "GET is not allowed here" in wrong.text
    assert '<nav class="sidebar"' in wrong.text


async def test_an_empty_login_form_shows_the_form_again_with_words_for_people(
    client: httpx.AsyncClient,
) -> None:
    token = CSRF.search((await client.get("/login")).text)
    assert token
    empty = await client.post("/login", data={"csrf_token": token.group(1)})
    assert empty.status_code == 422
    assert '<form method="post" action="/login"' in empty.text
    assert "Enter your email address and password to sign in." in empty.text
    assert "Enter the email address you sign in with." in empty.text
    assert "Enter your password." in empty.text
    assert "Validation failed" not in empty.text
    malformed = await client.post(
        "/login",
        data={"csrf_token": token.group(1), "email": "not-an-email", "password": "x"},
    )
    assert malformed.status_code == 422
    assert "This doesn&#39;t look like an email address" in malformed.text
    assert 'value="not-an-email"' in malformed.text
    wrong = await client.post(
        "/login",
        data={"csrf_token": token.group(1), "email": "nobody@example.com", "password": "x" * 12},
    )
    assert wrong.status_code == 401
    assert '<form method="post" action="/login"' in wrong.text


async def test_a_refused_page_parameter_is_explained_in_words(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    await _signed_in(client, admin)
    token = CSRF.search((await client.get("/team")).text)
    assert token
    # The team form without its fields: the schema's refusal, labelled, on a page.
    refused = await client.post(
        "/team/invitations",
        data={"csrf_token": token.group(1)},
        headers={**HTML, "referer": "http://testserver/team"},
    )
    assert refused.status_code == 422
    assert '<nav class="sidebar"' in refused.text
    assert "<h1>Some of what was entered needs fixing</h1>" in refused.text
    assert "<strong>Full name</strong> can&#39;t be empty" in refused.text
    assert "<strong>Email</strong>" in refused.text
    assert "String should" not in refused.text
    assert 'href="/team">Back to the previous page' in refused.text
    # A query parameter FastAPI refuses before the page runs: words, not pydantic's.
    board = await client.get("/pipeline", params={"workflow_id": "sales"}, headers=HTML)
    assert board.status_code == 422
    assert "<strong>Workflow id</strong> isn&#39;t one of the choices offered" in board.text
    assert "Input should" not in board.text


async def test_a_refusal_before_the_page_runs_is_a_page_too(client: httpx.AsyncClient) -> None:
    # The CSRF check runs in the middleware, before any page: its 403 was a bare line.
    await client.get("/login")  # the anonymous cookie the form's token is bound to
    forged = await client.post(
        "/login",
        data={"email": "x@example.com", "password": "x", "csrf_token": "0" * 64},
        headers=HTML,
    )
    assert forged.status_code == 403
    assert forged.text.startswith("<!doctype html>")
    assert 'href="/login">Sign in' in forged.text
    admin = await register_tenant(client)
    await _signed_in(client, admin)
    refused = await client.post(
        "/team",
        data={"csrf_token": "f" * 64},
        headers={**HTML, "referer": "http://testserver/team"},
    )
    assert refused.status_code == 403
    assert '<nav class="sidebar"' in refused.text
    assert 'href="/team">Back to the previous page' in refused.text
    # htmx still gets the fragment it shows as a toast.
    toast = await client.post(
        "/team", data={"csrf_token": "f" * 64}, headers={"hx-request": "true"}
    )
    assert toast.status_code == 403
    assert toast.text.startswith('<p class="error" role="alert">')
