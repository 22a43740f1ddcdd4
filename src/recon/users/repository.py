"""User and invitation queries, always scoped to an organisation."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from recon.core.pagination import Page, PageParams, SortKey, keyset_page
from recon.core.repository import Repository
from recon.models import Project, ProjectMember, User, UserInvitation


class UserRepository(Repository[User]):
    model = User
    noun = "user"

    def in_org(self, org_id: str, user_id: str) -> User | None:
        return self.session.scalar(select(User).where(User.id == user_id, User.org_id == org_id))

    def by_email(self, email: str) -> User | None:
        return self.session.scalar(select(User).where(User.email == email))

    def page_in_org(
        self, org_id: str, params: PageParams, *, active: bool | None = None, email: str | None = None
    ) -> Page[User]:
        stmt = select(User).where(User.org_id == org_id)
        if active is not None:
            stmt = stmt.where(User.is_active.is_(active))
        if email:
            escaped = email.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(User.email.like(f"%{escaped}%", escape="\\"))
        return keyset_page(self.session, stmt, [SortKey(User.created_at), SortKey(User.id)], params)

    def memberships(self, user_ids: Sequence[str]) -> dict[str, list[tuple[ProjectMember, Project]]]:
        found: dict[str, list[tuple[ProjectMember, Project]]] = {uid: [] for uid in user_ids}
        if not user_ids:
            return found
        rows = self.session.execute(
            select(ProjectMember, Project)
            .join(Project, Project.id == ProjectMember.project_id)
            .where(ProjectMember.user_id.in_(list(user_ids)), Project.deleted_at.is_(None))
            .order_by(Project.name, Project.id)
        ).tuples()
        for member, project in rows:
            found[member.user_id].append((member, project))
        return found

    def open_invitations(self, user_id: str) -> list[UserInvitation]:
        stmt = select(UserInvitation).where(
            UserInvitation.user_id == user_id,
            UserInvitation.accepted_at.is_(None),
            UserInvitation.revoked_at.is_(None),
        )
        return list(self.session.scalars(stmt))

    def invitation_by_hash(self, token_hash: str) -> UserInvitation | None:
        return self.session.scalar(
            select(UserInvitation).where(UserInvitation.token_hash == token_hash).with_for_update()
        )

    def active_admins(self, org_id: str) -> int:
        stmt = select(User.id).where(
            User.org_id == org_id, User.is_superuser.is_(True), User.is_active.is_(True)
        )
        return len(list(self.session.scalars(stmt)))
