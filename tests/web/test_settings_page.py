"""The Organization settings page over HTTP: admins only (and only their sidebar links
it), a save redraws the form with the new version, a refused value is shown next to
its field (422), a stale form answers 409 with the current values."""

from __future__ import annotations

import re

import httpx
import pytest

from baton.identity import totp
from tests.factories import add_member, register_tenant
from tests.web.test_workflow_pages import HTMX, _sign_in

PAGE = "/settings/organization"


def _version(html: str) -> str:
    match = re.search(r'name="version" value="(\d+)"', html)
    assert match, html
    return match.group(1)


def _value(html: str, field: str) -> str:
    match = re.search(rf'id="{field}" name="{field}"[^>]* value="([^"]*)"', html)
    assert match, field
    return match.group(1)


@pytest.mark.parametrize("role", ["manager", "marketing", "sales", "viewer"])
async def test_only_admins_get_the_page(client: httpx.AsyncClient, role: str) -> None:
    admin = await register_tenant(client)
    member = await add_member(client, admin, role)
    token = await _sign_in(client, member)
    home = await client.get("/")
    assert f'href="{PAGE}"' not in home.text
    assert (await client.get(PAGE)).status_code == 403
    refused = await client.post(
        PAGE, data={"claim_sla_hours": "1", "version": "1", "csrf_token": token}, headers=HTMX
    )
    assert refused.status_code == 403


async def test_admin_saves_and_sees_refusals_inline(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    token = await _sign_in(client, admin)
    home = await client.get("/")
    assert f'<a href="{PAGE}">Organization</a>' in home.text
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert _value(page.text, "claim_sla_hours") == "24"
    assert _version(page.text) == "1"
    form = {
        "claim_sla_hours": "6",
        "default_currency": "USD",
        "timezone": "UTC",
        "version": "1",
        "csrf_token": token,
    }

    saved = await client.post(PAGE, data=form, headers=HTMX)
    assert saved.status_code == 200, saved.text
    assert "Settings saved" in saved.text
    assert 'id="org-settings"' in saved.text  # the whole wrapper, swapped outerHTML
    assert _value(saved.text, "claim_sla_hours") == "6"
    assert _version(saved.text) == "2"

    too_long = await client.post(
        PAGE, data={**form, "claim_sla_hours": "721", "version": "2"}, headers=HTMX
    )
    assert too_long.status_code == 422
    error = re.search(r'data-field-error="claim_sla_hours">([^<]+)<', too_long.text)
    assert error
    assert "720" in error.group(1)
    assert _value(too_long.text, "claim_sla_hours") == "721"  # what was typed stays
    assert 'aria-invalid="true"' in too_long.text
    assert 'id="org-settings"' not in too_long.text  # the form only: into the wrapper
    bad_zone = await client.post(
        PAGE, data={**form, "timezone": "Atlantis/Deep", "version": "2"}, headers=HTMX
    )
    assert bad_zone.status_code == 422
    assert 'data-field-error="timezone"' in bad_zone.text

    # The form still says version 1: another save came first.
    stale = await client.post(PAGE, data={**form, "claim_sla_hours": "12"}, headers=HTMX)
    assert stale.status_code == 409
    assert "Another admin changed the settings meanwhile" in stale.text
    assert _value(stale.text, "claim_sla_hours") == "6"  # their values, to edit again
    assert _version(stale.text) == "2"

    api = await client.get("/api/v1/settings", headers=admin.headers)
    assert api.json()["claim_sla_hours"] == 6
    assert api.json()["version"] == 2


async def test_a_plain_form_post_redirects_back(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    token = await _sign_in(client, admin)
    saved = await client.post(
        PAGE, data={"claim_sla_hours": "48", "version": "1", "csrf_token": token}
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{PAGE}?saved=1"
    page = await client.get(saved.headers["location"])
    assert "Settings saved" in page.text
    assert _value(page.text, "claim_sla_hours") == "48"


async def test_admin_sets_the_escalation_reminder_and_the_winback_cadence(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    cadence = await client.post(
        "/api/v1/cadences",
        headers=admin.headers,
        json={
            "name": "Winback: re-engage",
            "steps": [{"type": "call", "subject_template": "Call {company}", "delay_days": 0}],
        },
    )
    assert cadence.status_code == 201, cadence.text
    cadence_id = cadence.json()["id"]
    token = await _sign_in(client, admin)
    page = await client.get(PAGE)
    assert _value(page.text, "claim_escalation_hours") == "24"
    assert _value(page.text, "retention_days") == "90"
    assert '<option value="" selected>None: no winback enrolment</option>' in page.text
    assert f'<option value="{cadence_id}">Winback: re-engage</option>' in page.text

    form = {"claim_escalation_hours": "12", "winback_cadence_id": cadence_id, "csrf_token": token}
    saved = await client.post(PAGE, data={**form, "version": "1"}, headers=HTMX)
    assert saved.status_code == 200, saved.text
    assert f'<option value="{cadence_id}" selected>Winback: re-engage</option>' in saved.text
    assert _value(saved.text, "claim_escalation_hours") == "12"
    refused = await client.post(
        PAGE, data={**form, "claim_escalation_hours": "0", "version": "2"}, headers=HTMX
    )
    assert refused.status_code == 422
    assert 'data-field-error="claim_escalation_hours"' in refused.text

    # "None" clears the choice; the interval stays.
    cleared = await client.post(
        PAGE, data={**form, "winback_cadence_id": "", "version": "2"}, headers=HTMX
    )
    assert cleared.status_code == 200, cleared.text
    api = (await client.get("/api/v1/settings", headers=admin.headers)).json()
    assert api["winback_cadence_id"] is None
    assert api["claim_escalation_hours"] == 12


async def test_admin_requires_two_factor_for_admins_from_the_form(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    manager = await add_member(client, admin, "manager")
    token = await _sign_in(client, admin)
    form = {"timezone": "UTC", "version": "1", "csrf_token": token}
    saved = await client.post(PAGE, data={**form, "require_admin_totp": "true"}, headers=HTMX)
    assert saved.status_code == 200, saved.text
    assert "Settings saved" in saved.text
    settings = await client.get("/api/v1/settings", headers=manager.headers)
    assert settings.json()["require_admin_totp"] is True
    # The admin, without it, is held to enrolment from now on (identity.enrolment).
    held = await client.get(PAGE)
    assert held.status_code == 303
    assert held.headers["location"] == "/account?totp_setup=1"
    began = await client.post("/api/v1/me/totp", headers=admin.headers)
    code = totp.code_at(began.json()["secret"], totp.current_step())
    confirmed = await client.post(
        "/api/v1/me/totp/confirm", headers=admin.headers, json={"code": code}
    )
    assert confirmed.status_code == 200, confirmed.text
    # Enrolled: "Optional" again (the form's other choice) turns it off.
    again = {**form, "version": "2", "require_admin_totp": "false"}
    assert (await client.post(PAGE, data=again, headers=HTMX)).status_code == 200
    settings = await client.get("/api/v1/settings", headers=admin.headers)
    assert settings.json()["require_admin_totp"] is False
