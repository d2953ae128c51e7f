"""Tags of containers, pods and tasks, asked of the local tagger daemon.

Standard library only, Python 3.8 or newer::

    import tagger
    tagger.tag("container_id://<64 hex>", tagger.ORCHESTRATOR)  # -> ["image_name:nginx", ...]
    tagger.get_tags("container_id://<64 hex>", high_card=True)

The daemon is reached over HTTP/1.1 (``GET /v1/tags``) on the unix socket named by ``TAGGER_SOCKET``,
or on ``TAGGER_ADDRESS`` (``host:port``) when no socket is named, with the bearer token read from
the file named by ``TAGGER_AUTH_TOKEN_FILE``. ``TAGGER_TIMEOUT`` (seconds, default 1) bounds a call.

A lookup never raises because of the daemon: down, slow, refusing the token, answering garbage or
not knowing the entity, the answer is ``[]`` (a check must keep running without its tags). Only a
caller's mistake raises: ``TypeError`` for an entity that is not a string or a cardinality that is
not ``LOW``, ``ORCHESTRATOR`` or ``HIGH``. Failures are logged at DEBUG on the ``tagger`` logger.

Each thread keeps one keep-alive connection (a round-trip then costs well under a millisecond);
it is dropped after any error or a fork, and a stale one (closed by the daemon while idle) is
replaced and the request retried once.
"""

import functools
import http.client
import io
import json
import logging
import os
import select
import socket
import threading
import time
from typing import Any, List, Optional, Tuple
from urllib.parse import urlencode

__all__ = ["LOW", "ORCHESTRATOR", "HIGH", "tag", "get_tags", "close"]

LOW = 0
ORCHESTRATOR = 1
HIGH = 2

# Index = the constant's value; the names are the daemon's query values.
_CARDINALITY_NAMES = ("low", "orchestrator", "high")

# The daemon's own defaults (ipc.socket and ipc.auth_token_file in src/config.ts).
DEFAULT_SOCKET = "/var/run/tagger/tagger.sock"
DEFAULT_TOKEN_FILE = "/var/run/tagger/auth_token"
DEFAULT_TIMEOUT = 1.0

# A tags answer is a few KiB; anything much bigger is not one, and is not worth the memory.
_MAX_BODY = 4 * 1024 * 1024

_log = logging.getLogger("tagger")


def tag(entity: str, cardinality: int) -> List[str]:
    """The entity's tags at ``cardinality`` and below; ``[]`` on any failure of the daemon."""
    if not isinstance(entity, str):
        raise TypeError("entity must be a string, not %s" % type(entity).__name__)
    # bool is an int subclass: tag(e, True) is almost surely a mix-up with get_tags(e, True).
    if type(cardinality) is not int or not 0 <= cardinality <= 2:
        raise TypeError("Invalid cardinality")
    if not entity:
        return []
    return _lookup(entity, _CARDINALITY_NAMES[cardinality])


def get_tags(entity: str, high_card: bool = False) -> List[str]:
    """The Datadog Agent's older call: ``HIGH`` tags when ``high_card`` is true, else ``LOW``."""
    return tag(entity, HIGH if high_card else LOW)


def close() -> None:
    """Closes this thread's connection to the daemon (the next call opens a new one)."""
    _drop_connection()


class _DeadlineReader(io.RawIOBase):
    """The response's bytes, each read given only the time left until this thread's deadline.

    A socket timeout bounds one read: a daemon trickling a byte at a time would reset it forever.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        deadline = getattr(_local, "deadline", None)
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("deadline passed")
            current = self._sock.gettimeout()
            # As in _settimeout: a system call only when the timeout is off by a tenth or more.
            if current is None or current - remaining > remaining / 10:
                self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        self.fp.close()  # the plain file object http.client made; the socket stays open
        self.fp = io.BufferedReader(_DeadlineReader(sock))


class _TCPHTTPConnection(http.client.HTTPConnection):
    response_class = _DeadlineResponse


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket: only how the socket is opened differs."""

    response_class = _DeadlineResponse

    def __init__(self, path: str, timeout: float) -> None:
        # The Host header is required by HTTP/1.1 but means nothing on a unix socket.
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class _Target:
    """Where and how to reach the daemon, read from the environment at each call."""

    __slots__ = ("socket_path", "host", "port", "token_file", "timeout", "key")

    def __init__(self, socket_path: str, host: str, port: int, token_file: str, timeout: float) -> None:
        self.socket_path = socket_path
        self.host = host
        self.port = port
        self.token_file = token_file
        self.timeout = timeout
        # A connection is reused only while the environment still names the same daemon.
        self.key = (socket_path, host, port, timeout)


# The last environment seen and what it parsed to: the variables are read at each call (a test
# or a long-lived process may change them) but parsed only when they change.
_last_target = None  # type: Optional[Tuple[Tuple[str, str, str, str], Optional[_Target]]]


def _target() -> Optional[_Target]:
    global _last_target
    env = os.environ
    raw = (
        env.get("TAGGER_SOCKET", ""),
        env.get("TAGGER_ADDRESS", ""),
        env.get("TAGGER_AUTH_TOKEN_FILE", ""),
        env.get("TAGGER_TIMEOUT", ""),
    )
    last = _last_target
    if last is not None and last[0] == raw:
        return last[1]
    target = _parse_target(*raw)
    _last_target = (raw, target)
    return target


def _parse_target(socket_path: str, address: str, token_file: str, timeout: str) -> Optional[_Target]:
    host, port = "", 0
    if socket_path:
        if socket_path.startswith("unix://"):
            socket_path = socket_path[len("unix://"):]
    elif address:
        parsed = _parse_address(address)
        if parsed is None:
            _log.debug("tagger: TAGGER_ADDRESS is not host:port")
            return None
        host, port = parsed
    else:
        socket_path = DEFAULT_SOCKET
    return _Target(socket_path, host, port, token_file or DEFAULT_TOKEN_FILE, _timeout(timeout))


def _parse_address(address: str) -> Optional[Tuple[str, int]]:
    address = address.strip()
    if "://" in address:
        address = address.split("://", 1)[1].rstrip("/")
    host, sep, port_text = address.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        return None
    port = int(port_text)
    if not 0 < port < 65536:
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # [::1]:5001
    return host, port


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        return DEFAULT_TIMEOUT
    # NaN, infinity, zero or less would mean "wait forever" or "never try": take the default.
    return value if 0 < value < 3600 else DEFAULT_TIMEOUT


class _TokenCache:
    """The token file's content, re-read only when its mtime, size or inode changes (rotation)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._path = ""
        self._stamp: Tuple[int, int, int] = (0, 0, 0)
        self._token = ""

    def get(self, path: str) -> Optional[str]:
        try:
            st = os.stat(path)
        except OSError:
            return None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            if path == self._path and stamp == self._stamp:
                return self._token
        try:
            with open(path, "r", encoding="utf-8") as f:
                token = f.read(4096).strip()
        except (OSError, UnicodeDecodeError):
            return None
        if not token or any(c in token for c in "\r\n"):
            return None
        with self._lock:
            self._path, self._stamp, self._token = path, stamp, token
        return token


_tokens = _TokenCache()


class _Failed(Exception):
    """A lookup failed in a way that only means `[]`; the message is for the DEBUG log."""


def _lookup(entity: str, cardinality: str) -> List[str]:
    target = _target()
    if target is None:
        return []
    token = _tokens.get(target.token_file)
    if token is None:
        # Every route but /healthz needs the token: asking without it could only get a 401.
        _log.debug("tagger: auth token file unreadable or empty")
        return []
    path = _request_path(entity, cardinality)
    headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}
    try:
        status, body = _round_trip(target, path, headers)
        if status != 200:
            raise _Failed("daemon answered HTTP %d" % status)
        return _decode(body)
    except _Failed as error:
        _log.debug("tagger: lookup of %s failed: %s", entity, error)
        return []
    except Exception:  # noqa: BLE001 - the contract: a lookup never raises because of the daemon
        _drop_connection()
        _log.debug("tagger: lookup of %s failed unexpectedly", entity, exc_info=True)
        return []


def _request_path(entity: str, cardinality: str) -> str:
    # Real IDs are under 100 characters; a huge string is not cached, so the cache stays small.
    if len(entity) <= 256:
        return _cached_request_path(entity, cardinality)
    return _build_request_path(entity, cardinality)


def _build_request_path(entity: str, cardinality: str) -> str:
    return "/v1/tags?" + urlencode((("entity", entity), ("cardinality", cardinality)))


# A check asks about the same few entities again and again, and encoding costs more than the
# rest of the call's own work.
_cached_request_path = functools.lru_cache(maxsize=4096)(_build_request_path)


def _round_trip(target: _Target, path: str, headers: Any) -> Tuple[int, bytes]:
    deadline = time.monotonic() + target.timeout
    _local.deadline = deadline
    for attempt in (1, 2):
        conn, reused = _connection(target)
        try:
            _settimeout(conn, deadline, target.timeout)  # connect (if new) and send
            conn.request("GET", path, headers=headers)
            _settimeout(conn, deadline, target.timeout)  # wait for and read the answer
            response = conn.getresponse()
            body = response.read(_MAX_BODY + 1)
        except socket.timeout:
            # Retrying would overrun the caller's time budget.
            _drop_connection()
            raise _Failed("timed out")
        except (OSError, ValueError, http.client.HTTPException) as error:
            _drop_connection()
            # A reused connection may have been closed by the daemon while idle (keep-alive
            # timeout, restart); that is worth one fresh try. A fresh one failing means the daemon
            # is not there or broke mid-answer: retrying would only double the wait.
            if reused and attempt == 1 and time.monotonic() < deadline:
                continue
            raise _Failed("%s: %s" % (type(error).__name__, error))
        if len(body) > _MAX_BODY or response.will_close:
            _drop_connection()
        else:
            _local.state.used = time.monotonic()
        if len(body) > _MAX_BODY:
            raise _Failed("answer larger than %d bytes" % _MAX_BODY)
        return response.status, body
    raise _Failed("unreachable")  # pragma: no cover


def _settimeout(conn: http.client.HTTPConnection, deadline: float, timeout: float) -> None:
    """Gives the next step only the time left, so that a retry does not stretch the call."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise socket.timeout("deadline passed")
    sock = conn.sock
    if sock is None:
        conn.timeout = remaining  # what connect() will use
        return
    current = sock.gettimeout()
    # settimeout is a system call each time: while the socket's timeout is within a tenth of the
    # time left (the usual case: steps take microseconds), keep it.
    if current is None or abs(current - remaining) > timeout / 10:
        sock.settimeout(remaining)


class _State:
    """A thread's connection: for which target, in which process, last answered when."""

    __slots__ = ("conn", "key", "fork", "used")

    def __init__(self, conn: http.client.HTTPConnection, key: Any) -> None:
        self.conn = conn
        self.key = key
        self.fork = _forks
        self.used = 0.0


_local = threading.local()
# Bumped in a forked child: a connection made before the fork shares its socket with the parent.
_forks = 0

# A connection that answered this recently is reused without checking it first: the daemon's
# keep-alive timeout is seconds, and if it went away meanwhile the one retry covers it.
_FRESH_FOR = 1.0


def _after_fork_in_child() -> None:
    global _forks
    _forks += 1
    # Forget the forking thread's connection without closing it: that would be the parent's too.
    # (Closing our copy of the descriptor is harmless; the garbage collector does only that.)
    _local.state = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _connection(target: _Target) -> Tuple[http.client.HTTPConnection, bool]:
    """This thread's connection for `target`, and whether it was used before."""
    state = getattr(_local, "state", None)  # type: Optional[_State]
    if state is not None:
        if state.key == target.key and state.fork == _forks:
            if time.monotonic() - state.used < _FRESH_FOR or _still_open(state.conn):
                return state.conn, True
        if state.fork == _forks:
            state.conn.close()
        _local.state = None
    if target.socket_path:
        conn = _UnixHTTPConnection(target.socket_path, target.timeout)  # type: http.client.HTTPConnection
    else:
        conn = _TCPHTTPConnection(target.host, target.port, timeout=target.timeout)
    _local.state = _State(conn, target.key)
    return conn, False


def _still_open(conn: http.client.HTTPConnection) -> bool:
    """False when an idle socket is readable: the daemon closed it (or sent something unasked)."""
    sock = conn.sock
    if sock is None:
        return True  # not connected yet: request() will connect
    try:
        if hasattr(select, "poll"):
            # poll, unlike select, has no limit on the descriptor's number.
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return not poller.poll(0)
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _drop_connection() -> None:
    state = getattr(_local, "state", None)  # type: Optional[_State]
    if state is not None:
        if state.fork == _forks:
            state.conn.close()
        _local.state = None


def _decode(body: bytes) -> List[str]:
    try:
        payload = json.loads(body)  # bytes: json detects the UTF encoding itself
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise _Failed("answer is not JSON: %s" % error)
    tags = payload.get("tags") if isinstance(payload, dict) else None
    if not isinstance(tags, list) or not all(type(t) is str for t in tags):
        raise _Failed("answer has no list of string tags")
    return tags
