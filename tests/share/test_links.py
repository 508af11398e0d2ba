"""Share links and viewer cookies: what verifies, and the message for what does not."""

from __future__ import annotations

import pytest

from sse_widgets.share.links import (
    Grant,
    ShareRefused,
    describe_ttl,
    mint_cookie,
    mint_link,
    parse_duration,
    secret_fingerprint,
    verify_cookie,
    verify_link,
)

NOW = 1_800_000_000


def test_a_link_grants_its_notebooks_until_it_expires() -> None:
    link = mint_link("s", ["dash.ipynb"], ttl=3600, now=NOW)
    assert verify_link("s", link, now=NOW + 3599) == Grant(("dash.ipynb",), NOW + 3600, NOW)
    with pytest.raises(ShareRefused, match="expired"):
        verify_link("s", link, now=NOW + 3600)


def test_a_rotation_revokes_links_issued_before_it() -> None:
    link = mint_link("s", ["dash.ipynb"], now=NOW)
    assert verify_link("s", link, not_before=NOW, now=NOW + 1).issued == NOW
    with pytest.raises(ShareRefused, match="revoked"):
        verify_link("s", link, not_before=NOW + 1, now=NOW + 2)


def test_another_secret_or_an_altered_link_does_not_verify() -> None:
    link = mint_link("s", ["dash.ipynb"], now=NOW)
    with pytest.raises(ShareRefused, match="signature"):
        verify_link("other", link, now=NOW)
    mac = link.partition(".")[2]
    forged = mint_link("other", ["secret.ipynb"], now=NOW).partition(".")[0]
    with pytest.raises(ShareRefused, match="signature"):
        verify_link("s", f"{forged}.{mac}", now=NOW)


@pytest.mark.parametrize("garbage", [
    "", ".", "abc", "a.b.c", "é.é", "x" * 5000, "eyJ9.%%%", "a\x00.b", "..", "a.",
])
def test_malformed_credentials_are_refused_with_a_message(garbage: str) -> None:
    with pytest.raises(ShareRefused, match="malformed|signature"):
        verify_link("s", garbage, now=NOW)
    with pytest.raises(ShareRefused, match="malformed|signature"):
        verify_cookie("s", garbage, now=NOW)


def test_a_link_cannot_serve_as_a_cookie_nor_a_cookie_as_a_link() -> None:
    link = mint_link("s", ["dash.ipynb"], now=NOW)
    cookie, viewer = mint_cookie("s", verify_link("s", link, now=NOW))
    assert verify_cookie("s", cookie, now=NOW) == viewer
    assert viewer.viewer and viewer.notebooks == ("dash.ipynb",)
    with pytest.raises(ShareRefused, match="signature"):
        verify_cookie("s", link, now=NOW)
    with pytest.raises(ShareRefused, match="signature"):
        verify_link("s", cookie, now=NOW)


def test_each_exchange_makes_a_new_viewer() -> None:
    grant = verify_link("s", mint_link("s", ["dash.ipynb"], now=NOW), now=NOW)
    assert mint_cookie("s", grant)[1].viewer != mint_cookie("s", grant)[1].viewer


def test_a_link_must_name_notebooks() -> None:
    with pytest.raises(ValueError, match="notebooks"):
        mint_link("s", [], now=NOW)
    with pytest.raises(ValueError, match="notebooks"):
        mint_link("s", ["../etc/passwd"], now=NOW)


@pytest.mark.parametrize(("text", "seconds"), [
    ("3600", 3600), ("90m", 5400), ("12h", 43200), ("7d", 604800), ("2w", 1209600), ("1.5h", 5400),
])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-1h", "7 days", "h", "1y"])
def test_bad_durations_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match="use seconds or a number with s, m, h, d or w"):
        parse_duration(text)


def test_the_printed_lifetime_and_the_secret_fingerprint() -> None:
    assert describe_ttl(604800) == "valid 1 week"
    assert describe_ttl(2 * 86400) == "valid 2 days"
    assert describe_ttl(90) == "valid 90 s"
    assert secret_fingerprint("a") != secret_fingerprint("b")
    assert secret_fingerprint("a") == secret_fingerprint("a")
    assert len(secret_fingerprint("a")) == 16 and int(secret_fingerprint("a"), 16) >= 0
