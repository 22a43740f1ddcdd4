"""recon.auth.access: an access token's login session and user are checked in one query; the answer says which
of the two ended (the session first), on both databases."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import update

from recon.auth.access import SESSION_ENDED, USER_GONE, authenticate_access_token
from recon.auth.security import create_access_token
from recon.auth.sessions import SessionService
from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.core.errors import Unauthorized
from recon.models import User
from recon.models.auth import AuthSession


def _token(settings: Settings, factory: SessionFactory, user: User) -> tuple[str, str]:
    with session_scope(factory) as session:
        issued = SessionService(session, settings).start(session.get(User, user.id))  # type: ignore[arg-type]
    return issued.access_token, issued.session_id


def _check(settings: Settings, factory: SessionFactory, token: str) -> str:
    with session_scope(factory) as session:
        return authenticate_access_token(session, settings, token).user.id


def _refused(settings: Settings, factory: SessionFactory, token: str) -> str:
    with pytest.raises(Unauthorized) as refused:
        _check(settings, factory, token)
    return str(refused.value.detail)


def test_live_session_and_token_without_session(
    settings: Settings, session_factory: SessionFactory, make_user: Callable[..., User]
) -> None:
    user = make_user()
    token, _ = _token(settings, session_factory, user)
    assert _check(settings, session_factory, token) == user.id
    assert _check(settings, session_factory, create_access_token(settings, user.id)) == user.id


def test_ended_session_unknown_session_and_disabled_user(
    settings: Settings, session_factory: SessionFactory, make_user: Callable[..., User]
) -> None:
    user = make_user()
    token, session_id = _token(settings, session_factory, user)
    unknown = create_access_token(settings, user.id, {"sid": "no-such-session"})
    assert _refused(settings, session_factory, unknown) == SESSION_ENDED
    with session_scope(session_factory) as session:
        session.execute(update(User).where(User.id == user.id).values(is_active=False))
    assert _refused(settings, session_factory, token) == USER_GONE  # session live, user disabled
    with session_scope(session_factory) as session:
        auth_session = session.get(AuthSession, session_id)
        assert auth_session is not None
        SessionService(session, settings).revoke(auth_session, "logout")
    assert _refused(settings, session_factory, token) == SESSION_ENDED  # ended first, whatever the user


def test_session_of_a_user_that_no_longer_exists(
    settings: Settings, session_factory: SessionFactory, make_user: Callable[..., User]
) -> None:
    user = make_user()
    _, session_id = _token(settings, session_factory, user)
    ghost = create_access_token(settings, "no-such-user", {"sid": session_id})
    assert _refused(settings, session_factory, ghost) == USER_GONE
