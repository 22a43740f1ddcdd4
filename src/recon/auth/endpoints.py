"""HTTP surface of authentication: login, refresh, logout, me, API keys, TOTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from recon.auth.access import load_project_access
from recon.auth.api_keys import ApiKeyService, display_prefix
from recon.auth.dependencies import AppSettings, CurrentPrincipal
from recon.auth.errors import AuthRejected
from recon.auth.policy import PUBLIC
from recon.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    AuthInfo,
    LoginRequest,
    MembershipOut,
    MeOut,
    OrgOut,
    RefreshRequest,
    TokenPair,
    TotpCode,
    TotpSetupOut,
    TotpStatus,
    UserOut,
)
from recon.auth.service import LoginService, memberships
from recon.auth.sessions import IssuedTokens, SessionService
from recon.auth.totp import TotpService, totp_enabled
from recon.core.db import DbSession
from recon.core.errors import Forbidden, fields_under, problem_error_response
from recon.core.pagination import Page, Pagination
from recon.core.ratelimit import Limiter, client_ip, rate_limited
from recon.models import Role, User
from recon.models.auth import ApiKey

router = APIRouter(prefix="/auth", tags=["auth"])

KeyId = Annotated[str, Path(description="API key id", max_length=64)]


def interactive_user(principal: CurrentPrincipal) -> User:
    """Managing credentials needs a person's login: an API key cannot mint keys or change the 2nd factor."""
    if principal.method != "jwt":
        raise Forbidden("managing API keys and TOTP needs a login session, not an API key")
    return principal.user


InteractiveUser = Annotated[User, Depends(interactive_user)]


def _answer(request: Request, exc: AuthRejected) -> JSONResponse:
    # Returned, not raised: the request transaction commits what the rejection recorded (see auth.errors).
    return problem_error_response(request, exc)


def _pair(tokens: IssuedTokens) -> TokenPair:
    return TokenPair.model_validate(tokens, from_attributes=True)


def _limit_ip(request: Request, limiter: Limiter) -> None:
    limiter.hit("auth_ip", limiter.limit_for("auth_ip"), client_ip(request))


@router.post("/login", response_model=TokenPair, dependencies=[PUBLIC])
def login(
    body: LoginRequest, request: Request, session: DbSession, settings: AppSettings, limiter: Limiter
) -> Any:
    """Exchange email + password (+ `totp_code` once TOTP is enabled) for an access and a refresh token.

    401 `invalid-credentials` for a wrong email or password (the same answer for both), 401 `totp-required`
    when the code is missing, 429 `account-locked` (Retry-After) after repeated failures, 429 `rate-limited`.
    """
    _limit_ip(request, limiter)
    limiter.hit("login", limiter.limit_for("auth"), client_ip(request), body.email.strip().lower())
    try:
        service = LoginService(session, settings, client_ip(request))
        tokens = service.login(body.email, body.password, body.totp_code)
    except AuthRejected as exc:
        return _answer(request, exc)
    return _pair(tokens)


@router.post("/refresh", response_model=TokenPair, dependencies=[PUBLIC])
def refresh(
    body: RefreshRequest, request: Request, session: DbSession, settings: AppSettings, limiter: Limiter
) -> Any:
    """Rotate: the refresh token is spent and a new pair is issued in the same session. Presenting a spent
    token again revokes the whole session (401 `invalid-refresh-token`)."""
    _limit_ip(request, limiter)
    try:
        tokens = SessionService(session, settings).rotate(body.refresh_token)
    except AuthRejected as exc:
        return _answer(request, exc)
    return _pair(tokens)


@router.post(
    "/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, dependencies=[PUBLIC]
)
def logout(
    body: RefreshRequest, request: Request, session: DbSession, settings: AppSettings, limiter: Limiter
) -> None:
    """End the session of this refresh token: its refresh tokens and its access tokens stop working at once.
    Unknown or already ended sessions also answer 204."""
    _limit_ip(request, limiter)
    SessionService(session, settings).logout(body.refresh_token)


@router.get("/me", response_model=MeOut)
def me(principal: CurrentPrincipal, session: DbSession) -> MeOut:
    """The caller: user, organisation, project memberships (only the key's project for a restricted key)."""
    user = principal.user
    rows = memberships(session, user, principal.project_id)
    return MeOut(
        user=UserOut.model_validate({**_user_fields(user), "totp_enabled": totp_enabled(user)}),
        org=OrgOut.model_validate(user.org),
        memberships=[MembershipOut(project_id=p.id, project_name=p.name, role=r) for p, r in rows],
        auth=AuthInfo(
            method=principal.method, api_key_id=principal.api_key_id, project_id=principal.project_id
        ),
    )


def _user_fields(user: User) -> dict[str, Any]:
    names = ("id", "email", "full_name", "is_superuser", "created_at", "last_login_at")
    return {name: getattr(user, name) for name in names}


# -- API keys ---------------------------------------------------------------------------------------
def _key_out(api_key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=api_key.id,
        name=api_key.name,
        prefix=display_prefix(api_key),
        project_id=api_key.project_id,
        created_at=api_key.created_at,
        expires_at=api_key.expires_at,
        last_used_at=api_key.last_used_at,
        revoked_at=api_key.revoked_at,
    )


@router.post(
    "/api-keys",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    dependencies=[rate_limited("write")],
)
def create_api_key(
    body: ApiKeyCreate, user: InteractiveUser, principal: CurrentPrincipal, session: DbSession
) -> ApiKeyCreated:
    """Create a key acting as you (optionally only in one project of yours). The full key is in this response
    only; afterwards only its prefix is shown."""
    if body.project_id is not None:
        load_project_access(session, principal, body.project_id, Role.VIEWER)  # 404 unless a member
    new = ApiKeyService(session).create(
        user, name=body.name, project_id=body.project_id, expires_at=body.expires_at
    )
    return ApiKeyCreated(**_key_out(new.api_key).model_dump(), key=new.raw)


@router.get("/api-keys", response_model=Page[ApiKeyOut])
def list_api_keys(user: InteractiveUser, session: DbSession, page: Pagination) -> Page[ApiKeyOut]:
    """Your keys, newest first; revoked ones are listed with `revoked_at`."""
    return ApiKeyService(session).page(user, page).map(_key_out)


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    dependencies=[rate_limited("write")],
)
def revoke_api_key(key_id: KeyId, user: InteractiveUser, session: DbSession) -> None:
    """Revoke one of your keys (it stops working at once; revoking twice is fine)."""
    ApiKeyService(session).revoke(user, key_id)


# -- TOTP -------------------------------------------------------------------------------------------
def _limit_codes(limiter: Limiter, user: User) -> None:
    # 6-digit codes are guessable in bulk: limit attempts per user.
    limiter.hit("totp", limiter.limit_for("auth"), f"user:{user.id}")


@router.post("/totp/setup", response_model=TotpSetupOut, dependencies=[rate_limited("write")])
def totp_setup(user: InteractiveUser, session: DbSession) -> TotpSetupOut:
    """Generate a new secret (not yet required at login: confirm it with /auth/totp/enable)."""
    setup = TotpService(session).setup(user)
    return TotpSetupOut(secret=setup.secret, otpauth_uri=setup.otpauth_uri)


@router.post("/totp/enable", response_model=TotpStatus)
def totp_enable(body: TotpCode, user: InteractiveUser, session: DbSession, limiter: Limiter) -> TotpStatus:
    """Turn TOTP on with a current code from the app; from now on login needs `totp_code`."""
    return _switch_totp(True, body, user, session, limiter)


@router.post("/totp/disable", response_model=TotpStatus)
def totp_disable(body: TotpCode, user: InteractiveUser, session: DbSession, limiter: Limiter) -> TotpStatus:
    """Turn TOTP off (needs a current code)."""
    return _switch_totp(False, body, user, session, limiter)


def _switch_totp(on: bool, body: TotpCode, user: User, session: Session, limiter: Limiter) -> TotpStatus:
    """Both switches: codes rate-limited per user, the code checked by the service (422 on `body.code`)."""
    _limit_codes(limiter, user)
    service = TotpService(session)
    with fields_under("body"):
        (service.enable if on else service.disable)(user, body.code)
    return TotpStatus(enabled=on)
