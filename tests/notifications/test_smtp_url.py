"""`BATON_SMTP_URL`: what it may say, and that a bad one stops the start without
echoing the password."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from baton.config import Settings
from baton.notifications.smtp import SmtpServer, parse_smtp_url


@pytest.mark.parametrize(
    ("url", "server"),
    [
        ("smtp://127.0.0.1:1025", SmtpServer("127.0.0.1", 1025, None, None, use_tls=False)),
        ("smtp://mail.example.com", SmtpServer("mail.example.com", 25, None, None, use_tls=False)),
        (
            "smtps://u%40x.test:p%3Aw@mail.example.com",
            SmtpServer("mail.example.com", 465, "u@x.test", "p:w", use_tls=True),
        ),
        (
            "smtp://user:secret@mail.example.com:587",
            SmtpServer("mail.example.com", 587, "user", "secret", use_tls=False),
        ),
    ],
)
def test_a_url_names_the_server(url: str, server: SmtpServer) -> None:
    assert parse_smtp_url(url) == server


@pytest.mark.parametrize(
    "url", ["ftp://mail.example.com", "mail.example.com:25", "smtp://", "smtp://host:notaport"]
)
def test_anything_else_is_refused_at_start_without_the_password(url: str) -> None:
    with pytest.raises(ValueError, match="BATON_SMTP_URL"):
        parse_smtp_url(url)
    with pytest.raises(ValidationError) as refused:
        Settings(smtp_url=url.replace("//", "//user:hunter2@", 1))
    assert "hunter2" not in str(refused.value)
