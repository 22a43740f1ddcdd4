"""Project and membership queries (always scoped to a user or a project)."""

from __future__ import annotations

from sqlalchemy import func, select

from recon.core.pagination import Page, PageParams, SortKey, keyset_page
from recon.core.repository import Repository
from recon.models import Project, ProjectMember, Role, User


class ProjectRepository(Repository[Project]):
    model = Project
    noun = "project"

    def page_for_user(
        self, user: User, params: PageParams, only_project: str | None = None
    ) -> Page[tuple[Project, Role]]:
        """Live projects the user is a member of (only `only_project` for a project-scoped API key), oldest
        first, with the user's role."""
        stmt = (
            select(Project, ProjectMember.role)
            .join(ProjectMember, ProjectMember.project_id == Project.id)
            .where(
                ProjectMember.user_id == user.id,
                Project.org_id == user.org_id,
                Project.deleted_at.is_(None),
            )
        )
        if only_project is not None:
            stmt = stmt.where(Project.id == only_project)
        keys = [SortKey(Project.created_at), SortKey(Project.id)]
        return keyset_page(
            self.session, stmt, keys, params, scalars=False, key_of=lambda row: (row[0].created_at, row[0].id)
        )


class MemberRepository(Repository[ProjectMember]):
    model = ProjectMember
    noun = "member"

    def get_member(self, project_id: str, user_id: str) -> ProjectMember | None:
        return self.session.scalar(
            select(ProjectMember).where(
                ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
            )
        )

    def count_owners(self, project_id: str) -> int:
        return (
            self.session.scalar(
                select(func.count())
                .select_from(ProjectMember)
                .where(ProjectMember.project_id == project_id, ProjectMember.role == Role.OWNER)
            )
            or 0
        )

    def page_with_users(self, project_id: str, params: PageParams) -> Page[tuple[ProjectMember, User]]:
        stmt = (
            select(ProjectMember, User)
            .join(User, User.id == ProjectMember.user_id)
            .where(ProjectMember.project_id == project_id)
        )
        keys = [SortKey(ProjectMember.created_at), SortKey(ProjectMember.id)]
        return keyset_page(
            self.session, stmt, keys, params, scalars=False, key_of=lambda row: (row[0].created_at, row[0].id)
        )
