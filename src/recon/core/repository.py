"""A small generic repository: typed get, project-scoped get and keyset lists. Domain repositories subclass
it and add their queries; they flush, never commit (the request/task boundary commits)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import CursorResult, Select, TextClause, Update, select
from sqlalchemy.orm import Session

from recon.core.errors import Conflict, IdempotencyKeyReused, or_404
from recon.core.pagination import Page, PageParams, SortKey, keyset_page
from recon.models.base import Base

M = TypeVar("M", bound=Base)


class Repository(Generic[M]):
    model: type[M]
    # Human name in 404 messages ("dataset not found").
    noun: str = "resource"
    # The column an Idempotency-Key is unique within, beside its user (a rule set's versions: ruleset_id).
    idempotency_scope: str = "project_id"

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, id_: str) -> M | None:
        return self.session.get(self.model, id_)

    def get_in_project(self, project_id: str, id_: str) -> M | None:
        """The row only if it belongs to `project_id` (the model must have a project_id column)."""
        column = self.model.__table__.c.project_id
        pk = self.model.__table__.c.id
        return self.session.scalar(select(self.model).where(pk == id_, column == project_id))

    def get_in_project_or_404(self, project_id: str, id_: str) -> M:
        return or_404(self.get_in_project(project_id, id_), self.noun)

    def page_in_project(self, project_id: str, params: PageParams) -> Page[M]:
        """The project's rows, oldest first (created_at, then id; the model must have both columns)."""
        columns = self.model.__table__.c
        stmt = select(self.model).where(columns.project_id == project_id)
        return self.page(stmt, [SortKey(columns.created_at), SortKey(columns.id)], params)

    def by_idempotency_key(self, scope_id: str, user_id: str, key: str) -> M | None:
        """What this user created earlier with this Idempotency-Key in the scope (None: a new request)."""
        columns = self.model.__table__.c
        return self.session.scalar(
            select(self.model).where(
                columns[self.idempotency_scope] == scope_id,
                columns.created_by_id == user_id,
                columns.idempotency_key == key,
            )
        )

    def replayed(
        self,
        scope_id: str,
        user_id: str,
        key: str | None,
        *,
        same: Callable[[M], bool],
        what: str = "request body",
    ) -> M | None:
        """The row an earlier request with this Idempotency-Key created (None: no key, or a new one), to be
        answered again; 422 idempotency-key-reused (`what` differed) unless `same(row)` says the request is
        the one that created it."""
        if key is None:
            return None
        earlier = self.by_idempotency_key(scope_id, user_id, key)
        if earlier is not None and not same(earlier):
            raise IdempotencyKeyReused(what)
        return earlier

    def add(self, obj: M) -> M:
        self.session.add(obj)
        self.session.flush()
        return obj

    def page(
        self,
        stmt: Select,  # type: ignore[type-arg]
        keys: Sequence[SortKey],
        params: PageParams,
    ) -> Page[M]:
        return keyset_page(self.session, stmt, keys, params)


class ProjectRows(Generic[M]):
    """A service's reads of a project-owned table for its endpoints: one row (404 outside the project) and
    the project's rows, oldest first. The service sets `rows` to the table's repository."""

    rows: Repository[M]

    def get(self, project_id: str, id_: str) -> M:
        return self.rows.get_in_project_or_404(project_id, id_)

    def page(self, project_id: str, params: PageParams) -> Page[M]:
        return self.rows.page_in_project(project_id, params)


def where_given(stmt: Select, *filters: tuple[Any, Any]) -> Select:  # type: ignore[type-arg]
    """`stmt` narrowed by `column == value` for each `(column, value)` whose value is given (not None): the
    optional equality filters of a list, one pair each."""
    for column, value in filters:
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


def check_version(obj: Any, expected: int | None) -> None:
    """Optimistic concurrency for a client-sent version (If-Match / body `version`): 409 when stale."""
    if expected is not None and obj.version != expected:
        raise Conflict(
            f"version {expected} is stale; the current version is {obj.version}",
            type="https://recon.dev/problems/version-conflict",
            title="Version conflict",
        )


def updated_rows(session: Session, stmt: Update | TextClause, params: Mapping[str, Any] | None = None) -> int:
    """Run a Core UPDATE (or a textual INSERT/UPDATE with `params`; no ORM synchronisation) and return how
    many rows it changed."""
    result = session.execute(stmt.execution_options(synchronize_session=False), params)
    return int(cast("CursorResult[Any]", result).rowcount)
