"""Login throttling (issue 10, rows 4 and 6), on SQLite and PostgreSQL: the password is checked at most
LOGIN_MAX_FAILURES times whatever the concurrency (two app instances with their own connection pools stand for
two processes), an attacker's address is locked but the owner from another address gets in after a bounded
delay, and known and unknown emails get identical answers."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hostile_helpers import assert_still_ready

from recon.app import create_app
from recon.auth import security, throttle
from recon.config import Settings
from recon.models import User
from shared_values import TEST_PASSWORD

LOGIN = "/api/v1/auth/login"
MAX_FAILURES = 5


class CountingHasher(type(security._hasher)):  # type: ignore[misc]
    """argon2 as configured, counting verifications (the expensive step the throttle must bound)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self._lock = threading.Lock()

    def verify(self, hash: Any, password: Any) -> bool:
        with self._lock:
            self.calls += 1
        return bool(super().verify(hash, password))


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    security._dummy_hash()  # hashed (not verified) before counting starts
    monkeypatch.setattr(security, "_hasher", counting)
    return counting


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock()
    monkeypatch.setattr(throttle, "utcnow", frozen)
    return frozen


@pytest.fixture
def throttled(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        login_max_failures=MAX_FAILURES, login_lockout_s=900, login_delay_max_s=8, embedded_worker=False
    )


@pytest.fixture
def from_address(throttled: Settings) -> Iterator[Callable[[str], TestClient]]:
    """from_address("10.0.0.1") -> a client whose requests come from that address (one app, started once)."""
    app = create_app(throttled)
    clients: dict[str, TestClient] = {}
    with TestClient(app) as lifespan:
        for_address = lambda ip: clients.setdefault(ip, _client(app, ip))  # noqa: E731
        yield for_address
        assert_still_ready(lifespan)


def _client(app: Any, ip: str) -> TestClient:
    return TestClient(app, client=(ip, 40000))  # not entered: the app's lifespan runs once, above


def _login(client: TestClient, email: str, password: str) -> Any:
    return client.post(LOGIN, json={"email": email, "password": password})


def test_fifty_parallel_wrong_passwords_check_the_password_at_most_n_times(
    throttled: Settings, make_user: Callable[..., User], hasher: CountingHasher
) -> None:
    user = make_user()
    apps = [create_app(throttled), create_app(throttled)]  # two connection pools: like two processes
    with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
        with ThreadPoolExecutor(max_workers=25) as pool:
            answers = list(
                pool.map(
                    lambda i: _login((first, second)[i % 2], user.email, f"wrong-guess-{i:04d}"), range(50)
                )
            )
        statuses = sorted(answer.status_code for answer in answers)
        assert set(statuses) <= {401, 429}, statuses
        assert 1 <= hasher.calls <= MAX_FAILURES, f"{hasher.calls} password checks, {MAX_FAILURES} allowed"
        print(f"50 parallel wrong passwords: {hasher.calls} password checks, statuses {statuses}")
        assert statuses.count(401) == hasher.calls
        refused = next(answer for answer in answers if answer.status_code == 429)
        assert refused.json()["type"].endswith("/account-locked")
        right = _login(first, user.email, TEST_PASSWORD)  # the same address: locked even with the password
        assert right.status_code == 429
        assert hasher.calls <= MAX_FAILURES
        assert_still_ready(first)


def test_the_owner_from_another_address_gets_in_after_a_bounded_delay(
    from_address: Callable[[str], TestClient], make_user: Callable[..., User], clock: Clock
) -> None:
    owner = make_user()
    for attacker in ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"):  # many addresses, 40 guesses each
        for guess in range(10):
            answer = _login(from_address(attacker), owner.email, f"guess-{guess}")
            assert answer.status_code in (401, 429)
            if answer.status_code == 429:
                assert int(answer.headers["Retry-After"]) <= 900
            clock.advance(3)
    home = from_address("192.168.1.20")
    first = _login(home, owner.email, TEST_PASSWORD)
    if first.status_code == 429:  # the account's progressive delay, capped at LOGIN_DELAY_MAX_S
        wait = int(first.headers["Retry-After"])
        assert 1 <= wait <= 8
        clock.advance(wait)
        first = _login(home, owner.email, TEST_PASSWORD)
    assert first.status_code == 200, first.text
    locked_attacker = _login(from_address("10.0.0.1"), owner.email, TEST_PASSWORD)
    assert locked_attacker.status_code == 429  # the attacker's address stays locked for its window
    assert int(locked_attacker.headers["Retry-After"]) > 8


def test_the_account_delay_doubles_up_to_its_cap(
    from_address: Callable[[str], TestClient], make_user: Callable[..., User], clock: Clock
) -> None:
    victim = make_user()
    waits = []
    for attempt in range(12):  # each guess from a fresh address: only the account key limits them
        answer = _login(from_address(f"10.1.0.{attempt}"), victim.email, "not-the-password")
        if answer.status_code == 429:
            waits.append(int(answer.headers["Retry-After"]))
            clock.advance(int(answer.headers["Retry-After"]))
            answer = _login(from_address(f"10.1.0.{attempt}"), victim.email, "not-the-password")
        assert answer.status_code == 401
    assert waits == [1, 2, 4, 8, 8, 8, 8], waits


def test_known_and_unknown_emails_get_identical_answers(
    from_address: Callable[[str], TestClient], make_user: Callable[..., User], clock: Clock
) -> None:
    known = make_user(email="known-person@example.com")
    client = from_address("10.2.0.1")
    answers: dict[str, list[tuple[int, dict[str, Any], str | None]]] = {}
    for email in (known.email, "nobody-here@example.com"):
        seen = []
        for _ in range(MAX_FAILURES + 3):
            answer = _login(client, email, "wrong-password-123")
            body = {k: v for k, v in answer.json().items() if k != "request_id"}
            seen.append((answer.status_code, body, answer.headers.get("Retry-After")))
        answers[email] = seen
    assert answers[known.email] == answers["nobody-here@example.com"]
    assert [status for status, _, _ in answers[known.email]] == [401] * MAX_FAILURES + [429] * 3
