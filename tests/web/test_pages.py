"""The web shell over plain HTTP: sessions, CSRF, role-aware sidebar, redirects."""

from __future__ import annotations

import html
import re

import httpx

from tests.factories import PASSWORD, Member, add_member, register_tenant

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


async def _csrf(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match, "page has no CSRF field"
    return match.group(1)


async def _sign_in(client: httpx.AsyncClient, member: Member) -> httpx.Response:
    token = await _csrf(client, "/login")
    return await client.post(
        "/login",
        data={"email": member.email, "password": PASSWORD, "csrf_token": token, "next": "/team"},
    )


async def test_anonymous_pages_redirect_to_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/team")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/team"


async def test_sign_in_sets_a_safe_session_cookie(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    response = await _sign_in(client, admin)
    assert response.status_code == 303
    assert response.headers["location"] == "/team"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("baton_session=bas_")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    team = await client.get("/team")
    assert team.status_code == 200
    assert admin.email in team.text


async def test_forms_without_a_valid_csrf_token_are_refused(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    missing = await client.post("/login", data={"email": admin.email, "password": PASSWORD})
    assert missing.status_code == 403
    await client.get("/login")  # sets the anonymous cookie
    forged = await client.post(
        "/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": "0" * 64}
    )
    assert forged.status_code == 403
    assert "baton_session" not in forged.headers.get("set-cookie", "")
    await _sign_in(client, admin)
    invite = await client.post(
        "/team/invitations", data={"email": "x@example.com", "full_name": "X", "role": "sales"}
    )
    assert invite.status_code == 403
    logout = await client.post("/logout", data={"csrf_token": "f" * 64})
    assert logout.status_code == 403


async def test_sidebar_shows_only_what_the_role_may_use(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    marketing = await add_member(client, admin, "marketing")
    sales = await add_member(client, admin, "sales")
    viewer = await add_member(client, admin, "viewer")
    leads = {"Lead Inbox", "Sales Inbox", "My Leads", "Nurture", "Disqualified"}
    # The converted archive and every salesperson's claimed leads: managers, admins.
    overseen = {"Converted", "Team's leads"}
    expectations = {
        admin.email: (
            {"Home", "Pipeline", "Accounts", "Contacts", "Targets", "Activities", "Work items"}
            | {
                "Workflows",
                "Statuses",
                "Project types",
                "Team",
                "Organization",
                "Jobs",
                "Audit",
                "API keys",
            }
            | {"Webhooks", "My account", "Imports"}
            | leads
            | overseen,
            set(),
        ),
        marketing.email: (
            {"Home", "Lead Inbox", "Nurture", "Disqualified", "Pipeline", "Accounts"}
            | {
                "Contacts",
                "Targets",
                "Activities",
                "Work items",
                "API keys",
                "My account",
                "Imports",
            },
            {"Sales Inbox", "My Leads", "Team", "Organization", "Jobs", "Audit", "Workflows"}
            | {"Webhooks"}
            | overseen,
        ),
        sales.email: (
            {"Home", "Sales Inbox", "My Leads", "Pipeline", "Accounts", "Targets"}
            | {"Contacts", "Activities", "Work items", "API keys", "My account", "Imports"},
            {"Team", "Organization", "Workflows", "Lead Inbox", "Nurture", "Disqualified"}
            | overseen,
        ),
        viewer.email: (
            {"Home", "Pipeline", "Accounts", "Contacts", "Targets", "Activities"}
            | {"Work items", "My account"},
            {"Team", "Organization", "API keys", "Statuses", "Imports"} | leads | overseen,
        ),
    }
    for member in (admin, marketing, sales, viewer):
        client.cookies.clear()
        await _sign_in(client, member)
        home = await client.get("/")
        nav = home.text.split('<nav class="sidebar"', 1)[1].split("</nav>", 1)[0]
        labels = {
            html.unescape(label) for label in re.findall(r'<a href="[^"]+"[^>]*>([^<]+)</a>', nav)
        }
        shown, hidden = expectations[member.email]
        assert labels == shown, member.email
        assert not labels & hidden
    forbidden = await client.get("/team")  # still signed in as the viewer
    assert forbidden.status_code == 403


async def test_invite_from_the_team_page_and_htmx_errors(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    await _sign_in(client, admin)
    token = await _csrf(client, "/team")
    form = {
        "email": "new.person@example.com",
        "full_name": "New Person",
        "role": "marketing",
        "csrf_token": token,
    }
    htmx = {"HX-Request": "true"}
    added = await client.post("/team/invitations", data=form, headers=htmx)
    assert added.status_code == 200
    assert added.headers["cache-control"] == "no-store"
    assert 'id="invitations"' in added.text
    link = re.search(r'value="(http[^"]+/invitations/bai_[^"]+)"', added.text)
    assert link is not None
    assert 'data-email="new.person@example.com"' in added.text
    # The link is shown once: the page shows the invitation, never its link again.
    page = await client.get("/team")
    assert 'data-email="new.person@example.com"' in page.text
    assert link[1] not in page.text
    again = await client.post("/team/invitations", data=form, headers=htmx)
    assert again.status_code == 409
    assert 'role="alert"' in again.text
    assert "pending invitation" in again.text
    member = await client.post(
        "/team/invitations", data={**form, "email": admin.email}, headers=htmx
    )
    assert member.status_code == 409
    assert "already a member" in member.text
    # A new link replaces the old; withdrawing empties the list.
    invitation_id = re.search(r"/team/invitations/([0-9a-f-]{36})/resend", page.text)
    assert invitation_id is not None
    resent = await client.post(
        f"/team/invitations/{invitation_id[1]}/resend", data={"csrf_token": token}, headers=htmx
    )
    assert resent.status_code == 200
    assert link[1] not in resent.text
    assert "/invitations/bai_" in resent.text
    withdrawn = await client.post(
        f"/team/invitations/{invitation_id[1]}/revoke", data={"csrf_token": token}, headers=htmx
    )
    assert withdrawn.status_code == 200
    assert "No pending invitations." in withdrawn.text


async def test_next_parameter_cannot_redirect_off_site(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    token = await _csrf(client, "/login")
    response = await client.post(
        "/login",
        data={
            "email": admin.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/steal",
        },
    )
    assert response.headers["location"] == "/"


async def test_wrong_password_re_renders_the_form(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    token = await _csrf(client, "/login")
    response = await client.post(
        "/login", data={"email": admin.email, "password": "wrong-one", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "Email or password is incorrect" in response.text
    assert admin.email in response.text  # the email is kept in the form


async def test_sign_out_revokes_the_session(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    await _sign_in(client, admin)
    session = client.cookies["baton_session"]
    token = await _csrf(client, "/")
    out = await client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303
    client.cookies.set("baton_session", session)  # a stolen copy is dead too
    assert (await client.get("/")).status_code == 303


async def test_a_mangled_cookie_header_is_ignored(client: httpx.AsyncClient) -> None:
    response = await client.get("/login", headers={"Cookie": 'baton_session="unterminated; ;;=='})
    assert response.status_code == 200


async def test_a_stale_session_cookie_does_not_block_signing_in(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    await _sign_in(client, admin)
    # The session ends elsewhere (e.g. a password change); the browser keeps the cookie.
    await client.post(
        "/api/v1/auth/password",
        headers=admin.headers,
        json={"current_password": PASSWORD, "new_password": "brand-new-password"},
    )
    assert "baton_session" in client.cookies
    token = await _csrf(client, "/login")
    again = await client.post(
        "/login",
        data={"email": admin.email, "password": "brand-new-password", "csrf_token": token},
    )
    assert again.status_code == 303


async def test_sign_in_goes_only_to_a_same_site_page_of_sane_length(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    for target, landing in (
        ("/team", "/team"),
        ("//evil.example/x", "/"),
        ("https://evil.example/x", "/"),
        ("/" + "a" * 2500, "/"),
    ):
        client.cookies.clear()
        token = await _csrf(client, "/login")
        signed = await client.post(
            "/login",
            data={"email": admin.email, "password": PASSWORD, "csrf_token": token, "next": target},
        )
        assert signed.status_code == 303, signed.text
        assert signed.headers["location"] == landing


async def test_the_invitation_page_joins_and_spent_links_point_to_sign_in(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    elsewhere = await register_tenant(client)
    invited = await client.post(
        "/api/v1/invitations",
        headers=admin.headers,
        json={"email": elsewhere.email, "full_name": "Ada", "role": "viewer"},
    )
    path = f"/invitations/{invited.json()['token']}"
    page = await client.get(path)
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    # A login exists for the email: it signs in with its own password to join.
    assert "Sign in and join" in page.text
    assert "Choose a password" not in page.text
    token = await _csrf(client, path)
    wrong = await client.post(path, data={"csrf_token": token, "password": "not-it-at-all"})
    assert wrong.status_code == 401
    assert 'id="password-error"' in wrong.text
    joined = await client.post(path, data={"csrf_token": token, "password": PASSWORD})
    assert joined.status_code == 303
    assert joined.headers["location"] == "/"
    assert joined.headers["set-cookie"].startswith("baton_session=bas_")
    # Spent, unknown: a page that says so, with the way to sign in.
    for spent, status, words in (
        (path, 410, "already used"),
        ("/invitations/bai_" + "0" * 32 + "_" + "x" * 43, 404, "not valid"),
    ):
        answer = await client.get(spent)
        assert answer.status_code == status
        assert words in answer.text
        assert 'href="/login"' in answer.text
