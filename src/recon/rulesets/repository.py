"""Rule set and version queries (always scoped to a project or a rule set)."""

from __future__ import annotations

from sqlalchemy import select, update

from recon.core.errors import NotFound
from recon.core.pagination import Page, PageParams, SortKey
from recon.core.repository import Repository
from recon.core.time import utcnow
from recon.models import RuleSet, RuleSetVersion


class RuleSetRepository(Repository[RuleSet]):
    model = RuleSet
    noun = "rule set"

    def page_for_project(self, project_id: str, params: PageParams) -> Page[RuleSet]:
        stmt = select(RuleSet).where(RuleSet.project_id == project_id)
        return self.page(stmt, [SortKey(RuleSet.created_at), SortKey(RuleSet.id)], params)

    def by_name(self, project_id: str, name: str) -> RuleSet | None:
        return self.session.scalar(
            select(RuleSet).where(RuleSet.project_id == project_id, RuleSet.name == name)
        )

    def claim_next_version(self, ruleset: RuleSet) -> int:
        """Bump latest_version atomically and return it. The UPDATE row-locks the rule set (PostgreSQL) or
        takes the write lock (SQLite) until commit, so concurrent saves get distinct, gapless numbers."""
        number = self.session.execute(
            update(RuleSet)
            .where(RuleSet.id == ruleset.id)
            .values(latest_version=RuleSet.latest_version + 1, updated_at=utcnow())
            .returning(RuleSet.latest_version)
        ).scalar_one()
        self.session.refresh(ruleset)
        return int(number)


class VersionRepository(Repository[RuleSetVersion]):
    model = RuleSetVersion
    noun = "rule set version"
    idempotency_scope = "ruleset_id"

    def get_version(self, ruleset_id: str, version: int) -> RuleSetVersion | None:
        return self.session.scalar(
            select(RuleSetVersion).where(
                RuleSetVersion.ruleset_id == ruleset_id, RuleSetVersion.version == version
            )
        )

    def get_version_or_404(self, ruleset: RuleSet, version: int) -> RuleSetVersion:
        found = self.get_version(ruleset.id, version)
        if found is None:
            raise NotFound(
                f"rule set {ruleset.name!r} has no version {version} (latest is {ruleset.latest_version})"
            )
        return found

    def page_for_ruleset(self, ruleset_id: str, params: PageParams) -> Page[RuleSetVersion]:
        stmt = select(RuleSetVersion).where(RuleSetVersion.ruleset_id == ruleset_id)
        return self.page(stmt, [SortKey(RuleSetVersion.version)], params)
