"""Users of an organisation, managed by its administrators (superusers): create with a password or invite,
grant project roles, change, deactivate, reactivate. No HTTP, no commits: field errors name the fields of
the command (`email`, `memberships[0].project_id`); the endpoints place them in the request.

Every change is an audit event: user events on the organisation's chain (`user.created`, `user.invited`,
`user.invitation_accepted`, `user.updated`, `user.deactivated`, `user.reactivated`), memberships on the
project's chain (`member.added`, like the project member routes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from recon.audit.service import record_account_event, record_event
from recon.auth.security import hash_password, normalize_email, password_problems
from recon.core.errors import Conflict, FieldError, NotFound, ProblemError, Unprocessable, problem_type
from recon.core.pagination import Page, PageParams
from recon.core.repository import check_version
from recon.core.responses import response_of
from recon.core.time import utcnow
from recon.models import Project, ProjectMember, User, UserInvitation
from recon.models.auth import AuthSession
from recon.users.repository import UserRepository
from recon.users.schemas import (
    AdminUserOut,
    InvitationOut,
    MembershipGrant,
    UserCreate,
    UserMembershipOut,
    UserUpdate,
)

log = structlog.get_logger("recon.users")
INVITATION_TTL = dt.timedelta(days=7)
INVITATION_PREFIX = "inv_"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Created:
    user: User
    invitation: InvitationOut | None


def invalid_invitation(reason: str) -> ProblemError:
    return ProblemError(
        f"this invitation {reason}; ask your administrator for a new one",
        status=400,
        type=problem_type("invalid-invitation"),
        title="Invalid invitation",
    )


class UserService:
    def __init__(self, session: Session, admin: User | None, org_id: str) -> None:
        """`admin`: the acting organisation administrator (None: the operator on the command line)."""
        self.session = session
        self.admin = admin
        self.org_id = org_id
        self.users = UserRepository(session)

    @property
    def actor_id(self) -> str | None:
        return self.admin.id if self.admin else None

    # -- reads ----------------------------------------------------------------------------------------------
    def get(self, user_id: str) -> User:
        user = self.users.in_org(self.org_id, user_id)
        if user is None:
            raise NotFound("user not found in your organisation")
        return user

    def page(self, params: PageParams, *, active: bool | None, email: str | None) -> Page[AdminUserOut]:
        """The organisation's users, oldest first, with their project roles."""
        users = self.users.page_in_org(self.org_id, params, active=active, email=email)
        return Page[AdminUserOut](items=self.out(users.items), next_cursor=users.next_cursor)

    def out(self, users: Sequence[User]) -> list[AdminUserOut]:
        memberships = self.users.memberships([u.id for u in users])
        invited = {
            row
            for row in self.session.scalars(
                select(UserInvitation.user_id).where(
                    UserInvitation.user_id.in_([u.id for u in users]),
                    UserInvitation.accepted_at.is_(None),
                    UserInvitation.revoked_at.is_(None),
                )
            )
        }
        return [
            response_of(
                AdminUserOut,
                u,
                invited=u.id in invited,
                memberships=[
                    UserMembershipOut(project_id=p.id, project_name=p.name, role=m.role)
                    for m, p in memberships.get(u.id, [])
                ],
            )
            for u in users
        ]

    # -- create / invite ------------------------------------------------------------------------------------
    def create(self, body: UserCreate) -> Created:
        email = normalize_email(str(body.email))
        if self.users.by_email(email) is not None:
            raise Conflict(
                f"a user with email {email} already exists",
                errors=[FieldError(field="email", message="taken")],
            )
        if body.password is not None:
            problems = password_problems(body.password)
            if problems:
                raise Unprocessable(
                    "the password is too weak",
                    errors=[FieldError(field="password", message="; ".join(problems))],
                )
        projects = self._projects(body.memberships)
        invited = body.password is None
        user = User(
            org_id=self.org_id,
            email=email,
            full_name=body.full_name,
            # An invited user has no usable password until the invitation is redeemed.
            password_hash=hash_password(body.password if body.password else secrets.token_urlsafe(32)),
            is_active=not invited,
            is_superuser=False,
        )
        self.session.add(user)
        self.session.flush()
        self._audit(
            "user.invited" if invited else "user.created",
            user,
            {
                "email": email,
                "full_name": body.full_name,
                "memberships": [g.model_dump() for g in body.memberships],
            },
        )
        for grant, project in zip(body.memberships, projects, strict=True):
            self._grant(user, project, grant)
        invitation = self._invite(user) if invited else None
        log.info("user_created", user_id=user.id, invited=invited)
        return Created(user, invitation)

    def _projects(self, grants: Sequence[MembershipGrant]) -> list[Project]:
        found = []
        problems = []
        seen: set[str] = set()
        for i, grant in enumerate(grants):
            project = self.session.scalar(
                select(Project).where(
                    Project.id == grant.project_id,
                    Project.org_id == self.org_id,
                    Project.deleted_at.is_(None),
                )
            )
            if project is None or grant.project_id in seen:
                why = "listed twice" if grant.project_id in seen else "no such project in your organisation"
                problems.append(FieldError(field=f"memberships[{i}].project_id", message=why))
            seen.add(grant.project_id)
            found.append(project)
        if problems:
            raise Unprocessable("cannot grant these memberships", errors=problems)
        return [p for p in found if p is not None]

    def _grant(self, user: User, project: Project, grant: MembershipGrant) -> None:
        self.session.add(ProjectMember(project_id=project.id, user_id=user.id, role=grant.role))
        self.session.flush()
        record_event(
            self.session,
            action="member.added",
            actor_id=self.actor_id,
            project_id=project.id,
            entity_type="user",
            entity_id=user.id,
            data={"role": grant.role, "via": "user_create"},
        )

    def _invite(self, user: User) -> InvitationOut:
        now = utcnow()
        for earlier in self.users.open_invitations(user.id):
            earlier.revoked_at = now
        token = INVITATION_PREFIX + secrets.token_urlsafe(32)
        invitation = UserInvitation(
            user_id=user.id,
            token_hash=_token_hash(token),
            created_by_id=self.actor_id,
            expires_at=now + INVITATION_TTL,
        )
        self.session.add(invitation)
        self.session.flush()
        return InvitationOut(token=token, expires_at=invitation.expires_at)

    def reinvite(self, user_id: str) -> InvitationOut:
        user = self.get(user_id)
        if user.is_active or user.last_login_at is not None:
            raise Conflict(
                f"{user.email} has already accepted an invitation (or was created with a password)"
            )
        invitation = self._invite(user)
        self._audit("user.invited", user, {"email": user.email, "reissued": True})
        return invitation

    # -- change ---------------------------------------------------------------------------------------------
    def update(self, user_id: str, body: UserUpdate) -> User:
        user = self.get(user_id)
        check_version(user, body.version)
        changes = body.model_dump(exclude_unset=True, exclude={"version"})
        action = "user.updated"
        if body.is_active is not None and body.is_active != user.is_active:
            if not body.is_active:
                self._check_deactivation(user)
                action = "user.deactivated"
                self._end_sessions(user)
            else:
                action = "user.reactivated"
            user.is_active = body.is_active
        if body.full_name is not None:
            user.full_name = body.full_name
        self.session.flush()
        self._audit(action, user, {"email": user.email, **changes})
        return user

    def _check_deactivation(self, user: User) -> None:
        if self.admin is not None and user.id == self.admin.id:
            raise Conflict("you cannot deactivate yourself; ask another administrator")
        if user.is_superuser and self.users.active_admins(self.org_id) <= 1:
            raise Conflict("the organisation must keep an active administrator")

    def _end_sessions(self, user: User) -> None:
        """Logins end at once (tokens and keys also stop because the user is inactive)."""
        now = utcnow()
        self.session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason="user_deactivated")
            .execution_options(synchronize_session=False)
        )
        for invitation in self.users.open_invitations(user.id):
            invitation.revoked_at = now

    def _audit(self, action: str, user: User, data: dict[str, object]) -> None:
        record_account_event(
            self.session, "user", user.id, action, actor_id=self.actor_id, data=data, org_id=self.org_id
        )


def accept_invitation(session: Session, token: str, password: str) -> User:
    """Redeem an invitation: the user gets this password and becomes active (the token is the proof)."""
    invitation = UserRepository(session).invitation_by_hash(_token_hash(token))
    now = utcnow()
    if invitation is None:
        raise invalid_invitation("is unknown")
    if invitation.accepted_at is not None:
        raise invalid_invitation("was already used")
    if invitation.revoked_at is not None:
        raise invalid_invitation("was withdrawn")
    if invitation.expires_at <= now:
        raise invalid_invitation("has expired")
    problems = password_problems(password)
    if problems:
        raise Unprocessable(
            "the password is too weak",
            errors=[FieldError(field="password", message="; ".join(problems))],
        )
    user = session.get(User, invitation.user_id)
    if user is None:
        raise invalid_invitation("is unknown")
    user.password_hash = hash_password(password)
    user.is_active = True
    invitation.accepted_at = now
    session.flush()
    record_account_event(
        session,
        "user",
        user.id,
        "user.invitation_accepted",
        actor_id=user.id,
        data={"email": user.email, "invitation_id": invitation.id},
        org_id=user.org_id,
    )
    return user
