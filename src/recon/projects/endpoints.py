"""HTTP surface of projects and members: parse, call the service, shape the response."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from recon.auth.dependencies import CurrentPrincipal, ProjectAdmin, ProjectOwner, ProjectViewer
from recon.core.db import DbSession
from recon.core.errors import Forbidden
from recon.core.pagination import Page, Pagination
from recon.core.params import ProjectId, UserId
from recon.models import Project, Role
from recon.projects.schemas import (
    MemberAdd,
    MemberOut,
    MemberUpdate,
    ProjectCreate,
    ProjectOut,
    ProjectUpdate,
    ProjectWithRole,
)
from recon.projects.service import ProjectService

router = APIRouter(prefix="/projects", tags=["projects"])


def _with_role(project: Project, role: Role) -> ProjectWithRole:
    fields = ProjectOut.model_validate(project).model_dump()
    return ProjectWithRole.model_validate({**fields, "role": role})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProjectWithRole)
def create_project(body: ProjectCreate, principal: CurrentPrincipal, session: DbSession) -> ProjectWithRole:
    """Create a project in the caller's organisation; the caller becomes its owner. An API key restricted to
    one project cannot (403)."""
    if principal.project_id is not None:
        raise Forbidden("this API key is restricted to one project; it cannot create projects")
    project, owner = ProjectService(session).create(principal.user, body)
    return _with_role(project, owner.role)


@router.get("", response_model=Page[ProjectWithRole])
def list_projects(principal: CurrentPrincipal, session: DbSession, page: Pagination) -> Page[ProjectWithRole]:
    """Projects the caller is a member of (keyset paginated, oldest first); only its project for an API key
    restricted to one."""
    rows = ProjectService(session).list_for_user(principal.user, page, principal.project_id)
    return rows.map(lambda row: _with_role(*row))


@router.get("/{project_id}", response_model=ProjectWithRole)
def get_project(project_id: ProjectId, access: ProjectViewer) -> ProjectWithRole:
    return _with_role(access.project, access.role)


@router.patch("/{project_id}", response_model=ProjectWithRole)
def update_project(
    project_id: ProjectId, body: ProjectUpdate, access: ProjectAdmin, session: DbSession
) -> ProjectWithRole:
    """Change name, description or settings (admin or owner). Send `version` to guard against lost updates."""
    project = ProjectService(session).update(access, body)
    return _with_role(project, access.role)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_project(project_id: ProjectId, access: ProjectOwner, session: DbSession) -> None:
    """Delete the project (owner only). It answers 404 afterwards; its audit evidence is kept."""
    ProjectService(session).delete(access)


@router.get("/{project_id}/members", response_model=Page[MemberOut])
def list_members(
    project_id: ProjectId, access: ProjectViewer, session: DbSession, page: Pagination
) -> Page[MemberOut]:
    return ProjectService(session).list_members(access.project, page)


@router.post("/{project_id}/members", status_code=status.HTTP_201_CREATED, response_model=MemberOut)
def add_member(project_id: ProjectId, body: MemberAdd, access: ProjectAdmin, session: DbSession) -> MemberOut:
    """Add a user of the same organisation (by `user_id` or `email`). Only an owner can grant `owner`."""
    return ProjectService(session).add_member(access, body)


@router.patch("/{project_id}/members/{user_id}", response_model=MemberOut)
def update_member(
    project_id: ProjectId, user_id: UserId, body: MemberUpdate, access: ProjectAdmin, session: DbSession
) -> MemberOut:
    """Change a member's role. The last owner cannot be demoted (409)."""
    return ProjectService(session).update_member(access, user_id, body)


@router.delete(
    "/{project_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
def remove_member(project_id: ProjectId, user_id: UserId, access: ProjectAdmin, session: DbSession) -> None:
    """Remove a member. The last owner cannot be removed (409)."""
    ProjectService(session).remove_member(access, user_id)
