"""Rule sets and their immutable versions: validation through the engine, saving, reading. No commits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import structlog
from sqlalchemy.orm import Session

from recon.audit.service import record_entity_event, record_event
from recon.auth.access import ProjectAccess
from recon.core.errors import (
    Conflict,
    FieldError,
    Unprocessable,
    problem_type,
)
from recon.core.pagination import Page, PageParams
from recon.engine import Problem, RulesError, parse_rules
from recon.engine import RuleSet as Rules
from recon.models import RuleSet, RuleSetVersion
from recon.rulesets.repository import RuleSetRepository, VersionRepository
from recon.rulesets.schemas import RuleSetCreate, RulesProblem, ValidationResult, VersionCreate

log = structlog.get_logger("recon.rulesets")


def rules_format(text: str) -> str:
    """The engine reads JSON when the text starts with '{', YAML otherwise."""
    return "json" if text.lstrip().startswith("{") else "yaml"


def problem_field(problem: Problem) -> str:
    return problem.location or "text"


def invalid_rules(error: RulesError, detail: str = "the rules are invalid") -> Unprocessable:
    """422 with one `{field: location, message}` per problem the engine found."""
    errors = [FieldError(field=problem_field(p), message=p.message) for p in error.problems]
    return Unprocessable(f"{detail}: {len(errors)} problem(s)", errors=errors)


def parse_or_422(text: str, source: str = "rules") -> Rules:
    try:
        return parse_rules(text, source=source)
    except RulesError as exc:
        raise invalid_rules(exc) from None


@dataclass(frozen=True)
class Saved:
    ruleset: RuleSet
    version: RuleSetVersion
    replayed: bool = False  # the same Idempotency-Key again: nothing new was created


class RuleSetService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.rulesets = RuleSetRepository(session)
        self.versions = VersionRepository(session)

    # -- validation -----------------------------------------------------------------------------------------
    @staticmethod
    def validate(text: str) -> ValidationResult:
        """The engine's verdict on a text, without saving anything."""
        fmt = rules_format(text)
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        try:
            rules = parse_rules(text, source="rules")
        except RulesError as exc:
            problems = [RulesProblem(location=p.location, message=p.message) for p in exc.problems]
            return ValidationResult(valid=False, problems=problems, plan=None, format=fmt, sha256=sha)
        return ValidationResult(
            valid=True, problems=[], plan=str(rules.plan()), name=rules.name, format=fmt, sha256=sha
        )

    # -- writes ---------------------------------------------------------------------------------------------
    def create(self, access: ProjectAccess, data: RuleSetCreate, idempotency_key: str | None) -> Saved:
        project_id, user = access.project.id, access.user
        earlier = self.rulesets.replayed(
            project_id,
            user.id,
            idempotency_key,
            same=lambda ruleset: (
                (ruleset.name, ruleset.description, self.versions.get_version_or_404(ruleset, 1).text)
                == (data.name, data.description, data.text)
            ),
        )
        if earlier is not None:
            return Saved(earlier, self.versions.get_version_or_404(earlier, earlier.latest_version), True)
        rules = parse_or_422(data.text)
        if self.rulesets.by_name(project_id, data.name) is not None:
            raise Conflict(
                f"a rule set named {data.name!r} already exists in this project; add a version to it"
            )
        ruleset = self.rulesets.add(
            RuleSet(
                project_id=project_id,
                name=data.name,
                description=data.description,
                created_by_id=user.id,
                idempotency_key=idempotency_key,
            )
        )
        record_entity_event(
            self.session,
            "ruleset",
            ruleset,
            "ruleset.created",
            actor_id=user.id,
            data={"name": ruleset.name},
        )
        version = self._add_version(ruleset, data.text, rules, user.id, idempotency_key=None)
        return Saved(ruleset, version)

    def add_version(
        self, access: ProjectAccess, ruleset_id: str, data: VersionCreate, idempotency_key: str | None
    ) -> Saved:
        ruleset = self.get(access, ruleset_id)
        user_id = access.user.id
        earlier = self.versions.replayed(
            ruleset.id, user_id, idempotency_key, same=lambda version: version.text == data.text
        )
        if earlier is not None:
            return Saved(ruleset, earlier, True)
        rules = parse_or_422(data.text)
        version = self._add_version(ruleset, data.text, rules, user_id, idempotency_key)
        return Saved(ruleset, version)

    def _add_version(
        self, ruleset: RuleSet, text: str, rules: Rules, user_id: str, idempotency_key: str | None
    ) -> RuleSetVersion:
        number = self.rulesets.claim_next_version(ruleset)  # locks the rule set until commit
        if number > 1:
            latest = self.versions.get_version_or_404(ruleset, number - 1)
            if latest.sha256 == rules.sha256:
                raise Conflict(
                    f"the text is identical to version {latest.version}; nothing to save",
                    type=problem_type("ruleset-unchanged"),
                    title="Rule set unchanged",
                )
        version = self.versions.add(
            RuleSetVersion(
                ruleset_id=ruleset.id,
                version=number,
                text=text,
                format=rules_format(text),
                sha256=rules.sha256,
                rules_name=rules.name,
                created_by_id=user_id,
                idempotency_key=idempotency_key,
            )
        )
        record_event(
            self.session,
            action="ruleset.version_created",
            actor_id=user_id,
            project_id=ruleset.project_id,
            entity_type="ruleset_version",
            entity_id=version.id,
            data={
                "ruleset_id": ruleset.id,
                "ruleset_name": ruleset.name,
                "version": number,
                "sha256": version.sha256,
                "format": version.format,
                "rules_name": version.rules_name,
            },
        )
        log.info("ruleset_version_created", ruleset_id=ruleset.id, version=number)
        return version

    # -- reads ----------------------------------------------------------------------------------------------
    def get(self, access: ProjectAccess, ruleset_id: str) -> RuleSet:
        return self.rulesets.get_in_project_or_404(access.project.id, ruleset_id)

    def get_with_latest(self, access: ProjectAccess, ruleset_id: str) -> Saved:
        ruleset = self.get(access, ruleset_id)
        return Saved(ruleset, self.versions.get_version_or_404(ruleset, ruleset.latest_version))

    def list(self, access: ProjectAccess, params: PageParams) -> Page[RuleSet]:
        return self.rulesets.page_for_project(access.project.id, params)

    def list_versions(
        self, access: ProjectAccess, ruleset_id: str, params: PageParams
    ) -> Page[RuleSetVersion]:
        return self.versions.page_for_ruleset(self.get(access, ruleset_id).id, params)

    def version(self, access: ProjectAccess, ruleset_id: str, number: int) -> RuleSetVersion:
        return self.versions.get_version_or_404(self.get(access, ruleset_id), number)


def pinned_version(
    session: Session, project_id: str, ruleset_id: str, number: int | None
) -> tuple[RuleSet, RuleSetVersion]:
    """The project's rule set named in `ruleset_id` and its version `number` (None: the latest), as a run or
    an instant reconciliation pins them: 422 naming the command's field when either does not exist."""
    ruleset = RuleSetRepository(session).get_in_project(project_id, ruleset_id)
    if ruleset is None:
        raise Unprocessable(
            "the rule set does not exist in this project",
            errors=[FieldError(field="ruleset_id", message=f"no rule set {ruleset_id!r} here")],
        )
    wanted = number or ruleset.latest_version
    version = VersionRepository(session).get_version(ruleset.id, wanted)
    if version is None:
        raise Unprocessable(
            f"rule set {ruleset.name!r} has no version {wanted} (latest is {ruleset.latest_version})",
            errors=[FieldError(field="ruleset_version", message=f"no version {wanted}")],
        )
    return ruleset, version
