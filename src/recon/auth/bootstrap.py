"""Creating the first administrator: `recon users create-admin` and the RECON_ADMIN_* first-run bootstrap."""

from __future__ import annotations

import structlog
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from recon.auth.security import hash_password, normalize_email, password_problems
from recon.config import Settings
from recon.core.db import SessionFactory, session_scope
from recon.models import Organization, User

log = structlog.get_logger("recon.auth.bootstrap")


class UserExistsError(Exception):
    pass


def get_or_create_org(session: Session, name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        org = Organization(name=name)
        session.add(org)
        session.flush()
    return org


def create_admin(session: Session, *, email: str, password: str, org_name: str = "Default") -> User:
    """Create an organisation (if needed) and a superuser in it. Raises ValueError for a weak password or
    malformed email, UserExistsError when the email is taken."""
    email = normalize_email(email)
    if "@" not in email or len(email) > 320:
        raise ValueError(f"not an email address: {email!r}")
    problems = password_problems(password)
    if problems:
        raise ValueError("password " + "; ".join(problems))
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise UserExistsError(f"a user with email {email} already exists")
    org = get_or_create_org(session, org_name)
    user = User(
        org_id=org.id, email=email, password_hash=hash_password(password), is_superuser=True, is_active=True
    )
    session.add(user)
    session.flush()
    from recon.audit.service import record_account_event  # audit builds on the models auth also uses

    record_account_event(
        session,
        "user",
        user.id,
        "user.created",
        actor_id=None,
        data={"email": email, "is_superuser": True, "via": "create-admin"},
        org_id=org.id,
    )
    return user


def bootstrap_admin(factory: SessionFactory, settings: Settings) -> User | None:
    """First run: create the admin from RECON_ADMIN_EMAIL/RECON_ADMIN_PASSWORD when no user exists yet."""
    if not settings.recon_admin_email or settings.recon_admin_password is None:
        return None
    with session_scope(factory) as session:
        if session.scalar(select(exists().where(User.id.is_not(None)))):
            return None
        user = create_admin(
            session,
            email=settings.recon_admin_email,
            password=settings.recon_admin_password.get_secret_value(),
            org_name=settings.recon_admin_org,
        )
    log.info("admin_bootstrapped", email=user.email, org=settings.recon_admin_org)
    return user
