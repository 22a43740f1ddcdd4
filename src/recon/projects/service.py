"""Projects and memberships: the rules (owners, tenants), no HTTP and no commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from recon.audit.service import record_event
from recon.auth.access import ProjectAccess
from recon.auth.security import normalize_email
from recon.core.errors import Conflict, Forbidden, NotFound
from recon.core.pagination import Page, PageParams
from recon.core.repository import check_version
from recon.core.responses import response_of
from recon.core.time import utcnow
from recon.models import Project, ProjectMember, Role, User
from recon.projects.repository import MemberRepository, ProjectRepository
from recon.projects.schemas import MemberAdd, MemberOut, MemberUpdate, ProjectCreate, ProjectUpdate


def member_out(member: ProjectMember, user: User) -> MemberOut:
    """The member's account (`email`, `full_name`) with the membership's role and date."""
    return response_of(MemberOut, user, user_id=user.id, role=member.role, created_at=member.created_at)


class ProjectService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.projects = ProjectRepository(session)
        self.members = MemberRepository(session)

    # -- projects -------------------------------------------------------------------------------------------
    def create(self, user: User, data: ProjectCreate) -> tuple[Project, ProjectMember]:
        project = self.projects.add(
            Project(
                org_id=user.org_id,
                name=data.name,
                description=data.description,
                settings=data.settings.model_dump(),
                created_by_id=user.id,
            )
        )
        owner = self.members.add(ProjectMember(project_id=project.id, user_id=user.id, role=Role.OWNER))
        self._audit(
            "project.created",
            user.id,
            project,
            entity_type="project",
            entity_id=project.id,
            data={"name": project.name},
        )
        return project, owner

    def list_for_user(
        self, user: User, params: PageParams, only_project: str | None = None
    ) -> Page[tuple[Project, Role]]:
        return self.projects.page_for_user(user, params, only_project)

    def update(self, access: ProjectAccess, data: ProjectUpdate) -> Project:
        project = access.project
        check_version(project, data.version)
        if data.name is not None:
            project.name = data.name
        if data.description is not None:
            project.description = data.description
        changes = data.model_dump(exclude_none=True, exclude={"version"}, mode="json")
        if data.settings is not None:
            project.settings = data.settings.model_dump()
        self.session.flush()
        self._audit(
            "project.updated",
            access.user.id,
            project,
            entity_type="project",
            entity_id=project.id,
            data=changes,
        )
        return project

    def delete(self, access: ProjectAccess) -> None:
        """Soft delete: the project disappears (404) but its evidence (audit, files) stays."""
        access.project.deleted_at = utcnow()
        self.session.flush()
        self._audit(
            "project.deleted",
            access.user.id,
            access.project,
            entity_type="project",
            entity_id=access.project.id,
            data=None,
        )

    # -- members --------------------------------------------------------------------------------------------
    def list_members(self, project: Project, params: PageParams) -> Page[MemberOut]:
        return self.members.page_with_users(project.id, params).map(lambda row: member_out(*row))

    def add_member(self, access: ProjectAccess, data: MemberAdd) -> MemberOut:
        self._check_may_grant(access, data.role)
        user = self._colleague(access, user_id=data.user_id, email=data.email)
        if self.members.get_member(access.project.id, user.id) is not None:
            raise Conflict(f"{user.email} is already a member of this project")
        member = self.members.add(
            ProjectMember(project_id=access.project.id, user_id=user.id, role=data.role)
        )
        self._member_event("member.added", access, user.id, {"role": member.role})
        return member_out(member, user)

    def update_member(self, access: ProjectAccess, user_id: str, data: MemberUpdate) -> MemberOut:
        self._lock_project(access.project)
        member, user = self._member_or_404(access.project, user_id)
        new_role = data.role
        if Role.OWNER in (new_role, member.role):
            self._check_may_grant(access, Role.OWNER)
        if member.role == Role.OWNER and new_role != Role.OWNER:
            self._keep_an_owner(access.project)
        old_role = member.role
        member.role = new_role
        self.session.flush()
        self._member_event(
            "member.updated", access, user.id, {"role": member.role, "previous_role": old_role}
        )
        return member_out(member, user)

    def remove_member(self, access: ProjectAccess, user_id: str) -> None:
        self._lock_project(access.project)
        member, _user = self._member_or_404(access.project, user_id)
        if member.role == Role.OWNER:
            self._check_may_grant(access, Role.OWNER)
            self._keep_an_owner(access.project)
        self.session.delete(member)
        self.session.flush()
        self._member_event("member.removed", access, user_id, {"role": member.role})

    def _audit(
        self,
        action: str,
        actor_id: str,
        project: Project,
        *,
        entity_type: str,
        entity_id: str,
        data: dict[str, object] | None,
    ) -> None:
        record_event(
            self.session,
            action=action,
            actor_id=actor_id,
            project_id=project.id,
            entity_type=entity_type,
            entity_id=entity_id,
            data=data,
        )

    def _member_event(
        self, action: str, access: ProjectAccess, user_id: str, data: dict[str, object]
    ) -> None:
        """A change of `user_id`'s membership in the caller's project."""
        self._audit(action, access.user.id, access.project, entity_type="user", entity_id=user_id, data=data)

    # -- rules ----------------------------------------------------------------------------------------------
    def _check_may_grant(self, access: ProjectAccess, role: Role) -> None:
        if role == Role.OWNER and access.role != Role.OWNER:
            raise Forbidden("only an owner can grant, change or remove the owner role")

    def _keep_an_owner(self, project: Project) -> None:
        if self.members.count_owners(project.id) <= 1:
            raise Conflict("a project must keep at least one owner; make someone else owner first")

    def _lock_project(self, project: Project) -> None:
        # Serialises membership changes of a project on PostgreSQL (last-owner check); SQLite locks the file.
        self.session.execute(select(Project.id).where(Project.id == project.id).with_for_update())

    def _member_or_404(self, project: Project, user_id: str) -> tuple[ProjectMember, User]:
        member = self.members.get_member(project.id, user_id)
        user = self.session.get(User, user_id) if member is not None else None
        if member is None or user is None:
            raise NotFound("member not found")
        return member, user

    def _colleague(self, access: ProjectAccess, *, user_id: str | None, email: str | None) -> User:
        """A user of the caller's organisation; anyone else is 'not found' (no probing other tenants)."""
        stmt = select(User).where(User.org_id == access.project.org_id)
        if user_id is not None:
            stmt = stmt.where(User.id == user_id)
        else:
            stmt = stmt.where(User.email == normalize_email(email or ""))
        user = self.session.scalar(stmt)
        if user is None or not user.is_active:
            raise NotFound(
                "user not found in your organisation (or deactivated); an organisation administrator can "
                "create or invite users with POST /api/v1/users (or `recon users create`)"
            )
        return user
