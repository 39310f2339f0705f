"""Who may use a shared app, and how often: the users file, salted password hashes, roles, rate limits.

The users file holds one user a line, ``name:role:hash``; ``#`` starts a comment.
The hash is ``scrypt$n$r$p$salt$key`` (salt and key in base64), made by
:func:`hash_password`; no password is ever stored. Roles:

- ``reader``: searches, opens sources, exports;
- ``editor``: also adds, removes and re-indexes reports.

Add users with ``python -m search users add NAME --role reader|editor``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from search.errors import SearchError
from search.fileio import write_atomic

ROLES = ("reader", "editor")
MIN_PASSWORD = 8
_NAME = re.compile(r"[\w\u0e80-\u0eff.@+-]{1,64}", re.UNICODE)  # \w misses Lao vowel marks (category Mn)
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # about 0.1 s a check here: slow for guessing, quick for signing in
_DUMMY = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 43 + "="  # checked for unknown names: same time


class UsersFileError(SearchError):
    """The users file is missing, unreadable or has a malformed line."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``, as stored in the users file."""
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt${n}${r}${p}$".format(**_SCRYPT) + base64.b64encode(salt).decode() + "$" + base64.b64encode(key).decode()


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (a :func:`hash_password` result); constant-time compare."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key, validate=True)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt, validate=True),
                             n=int(n), r=int(r), p=int(p), dklen=len(expected), maxmem=2**27)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def read_users(path: Path) -> dict[str, User]:
    """The users of a users file, by name.

    Raises:
        UsersFileError: the file cannot be read, or a line is not ``name:role:hash`` with a known role.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersFileError(f"cannot read the users file {path} ({exc}); add a user with: "
                             f"python -m search users add NAME --role editor --users {path}") from exc
    users = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.strip().split(":")
        if len(parts) != 3 or not _NAME.fullmatch(parts[0]) or parts[1] not in ROLES or not parts[2].startswith("scrypt$"):
            raise UsersFileError(f"{path}, line {number}: expected name:role:hash with a role of {' or '.join(ROLES)}; "
                                 "make lines with: python -m search users add NAME --role ROLE")
        users[parts[0]] = User(*parts)
    return users


def save_user(path: Path, name: str, role: str, password: str, *, replace: bool = False) -> None:
    """Add a user to a users file (created, readable by its owner only), or replace one when ``replace``.

    Raises:
        UsersFileError: a bad name, role or password, or the user exists and ``replace`` is false.
    """
    path = Path(path)
    if not _NAME.fullmatch(name or ""):
        raise UsersFileError(f"{name!r} cannot be a user name: use letters, digits and . @ + - (up to 64)")
    if role not in ROLES:
        raise UsersFileError(f"unknown role {role!r}; choose {' or '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UsersFileError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    users = read_users(path) if path.exists() else {}
    if name in users and not replace:
        raise UsersFileError(f"{name} is already a user in {path}; add --replace to change the role or password")
    users[name] = User(name, role, hash_password(password))
    _write_users(path, users)


def remove_user(path: Path, name: str) -> None:
    """Remove a user from a users file.

    Raises:
        UsersFileError: there is no such user.
    """
    path = Path(path)
    users = read_users(path)
    if users.pop(name, None) is None:
        raise UsersFileError(f"{name} is not a user in {path}")
    _write_users(path, users)


def _write_users(path: Path, users: dict[str, User]) -> None:
    """Write the users file atomically, readable by its owner only (it holds hashes)."""
    text = "# report-search users: name:role:scrypt hash. Edit with: python -m search users add|remove\n"
    text += "".join(f"{u.name}:{u.role}:{u.password_hash}\n" for u in users.values())
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text.encode("utf-8"), mode=0o600)


def is_loopback(host: str) -> bool:
    """True when ``host`` names this machine only (127.0.0.1, ::1, localhost): nobody else can connect."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any address


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def allowed_hosts(host: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The names a browser may use to reach an app bound to ``host`` (the ``Host`` header's allow-list).

    Another site's page cannot then reach the app by pointing its own name at this machine (DNS
    rebinding): its requests carry its own name. Loopback names always; the bound name when it is one;
    for every interface (``0.0.0.0``, ``::``), this machine's name and addresses; and ``extra``
    (``--allowed-host``), for names a proxy or DNS gives the machine.
    """
    import socket

    names = [*LOOPBACK_NAMES, *extra]
    if host in ("0.0.0.0", "::", ""):
        names += [socket.gethostname(), socket.getfqdn()]
        try:
            names += [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)]
        except OSError:
            pass
    elif not is_loopback(host):
        names.append(host)
    return list(dict.fromkeys(name.strip("[]").lower() for name in names if name))


class RateLimit:
    """At most ``limit`` events per key in any ``window`` seconds (a sliding window), thread-safe."""

    def __init__(self, limit: int, window: float = 60.0, *, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._events: dict[str, deque] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may act again; 0 when it may now."""
        with self._lock:
            events = self._recent(key)
            return 0.0 if len(events) < self.limit else max(0.0, events[0] + self.window - self.clock())

    def take(self, key: str) -> float:
        """Record an event for ``key`` if allowed; return 0, or the seconds to wait when refused."""
        with self._lock:
            events = self._recent(key)
            if len(events) >= self.limit:
                return max(0.0, events[0] + self.window - self.clock())
            events.append(self.clock())
            return 0.0

    def _recent(self, key: str) -> deque:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= self.clock() - self.window:
            events.popleft()
        if len(self._events) > 10_000:  # names tried once (sign-in guesses) do not pile up
            for stale in [k for k, e in self._events.items() if k != key and (not e or e[-1] <= self.clock() - self.window)]:
                del self._events[stale]
        return events


class Users:
    """The users of a users file, read again when the file changes, with sign-in throttling.

    ``authenticate`` is what Gradio's ``launch(auth=...)`` calls. After
    ``failures`` wrong passwords for a name within ``window`` seconds, that name
    cannot sign in (even with the right password) until the window has passed.
    """

    def __init__(self, path: Path, *, failures: int = 5, window: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):
        self.path = Path(path)
        self._stamp = None
        self._users = {}
        self._lock = threading.Lock()
        self._failed = RateLimit(failures, window, clock=clock)
        self._listeners: list[Callable[[set[str]], None]] = []
        self._load()  # a malformed file fails now, before the app starts
        if not self._users:
            raise UsersFileError(f"{self.path} has no user; add one with: "
                                 f"python -m search users add NAME --role editor --users {self.path}")

    def on_change(self, listener: Callable[[set[str]], None]) -> None:
        """Call ``listener`` with the names whose password or role changed, or who were removed, each time the
        file is read again (an app ends their sessions)."""
        self._listeners.append(listener)

    def _load(self) -> dict[str, User]:
        before = self._users
        users = self._read()
        changed = {name for name in before if before[name] != users.get(name)}
        if changed:
            for listener in self._listeners:
                listener(changed)
        return users

    def _read(self) -> dict[str, User]:
        with self._lock:
            try:
                st = self.path.stat()
                stamp = (st.st_mtime_ns, st.st_size)
            except OSError as exc:
                if self._stamp is None:
                    raise UsersFileError(f"cannot read the users file {self.path} ({exc.strerror}); add a user with: "
                                         f"python -m search users add NAME --role editor --users {self.path}") from exc
                return self._users  # gone while running: keep who we know
            if stamp != self._stamp:
                try:
                    self._users = read_users(self.path)
                except UsersFileError:
                    if self._stamp is None:
                        raise
                    return self._users  # a bad edit while running: keep the last good list
                self._stamp = stamp
            return self._users

    def authenticate(self, name: str, password: str) -> bool:
        """True when ``name`` is a user, ``password`` is theirs, and the name is not locked out."""
        user = self._load().get(name)
        if self._failed.wait(name):
            return False
        ok = verify_password(password, user.password_hash if user else _DUMMY)  # same cost for unknown names
        if not (ok and user):
            self._failed.take(name)
        return bool(ok and user)

    def locked_for(self, name: str) -> float:
        """Seconds until ``name`` may sign in again after too many wrong passwords; 0 when it may now (the same
        for a name that is no user, so the answer tells nothing of who exists)."""
        return self._failed.wait(name)

    def role(self, name: str | None) -> str | None:
        """The user's role, or None for an unknown name (a user removed while signed in has no role)."""
        user = self._load().get(name or "")
        return user.role if user else None
