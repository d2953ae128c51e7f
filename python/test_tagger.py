"""Tests of tagger.py against a fake daemon (unix socket and loopback TCP), and, when
TAGGER_LIVE_SOCKET is set, against a real one.

Run: cd python && python3 -m unittest -v   (or: python3 -m unittest discover -s python -v)
"""

import http.server
import json
import os
import shutil
import socket
import socketserver
import tempfile
import threading
import time
import unittest
import warnings
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import tagger

TOKEN = "0123456789abcdef" * 4
C1 = "container_id://" + "a1" * 32
C2 = "container_id://" + "b2" * 32
C1_TAGS = {
    "low": ["image_name:nginx", "short_image:nginx", "image_tag:1.27"],
    "orchestrator": ["pod_name:web-7d9f8c6b5-x2x9q"],
    "high": ["container_name:web", "container_id:" + "a1" * 32],
}

_TAGGER_ENV = ("TAGGER_SOCKET", "TAGGER_ADDRESS", "TAGGER_AUTH_TOKEN_FILE", "TAGGER_TIMEOUT")


class _Handler(http.server.BaseHTTPRequestHandler):
    # Keep-alive, as the real daemon does: the module's connection reuse is then exercised.
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        daemon = self.server.daemon  # type: ignore[attr-defined]
        daemon.requests.append((self.path, dict(self.headers.items())))
        mode = daemon.mode
        if mode == "slow":
            daemon.release.wait(5)
            self.close_connection = True  # the client gave up long ago
            return
        if mode == "close":
            self.close_connection = True
            self.connection.close()
            return
        if mode == "garbage":
            return self._send(200, b"\x00not json{")
        if mode == "wrong_shape":
            return self._send(200, json.dumps({"entity": C1, "cardinality": "low", "tags": "image_name:nginx"}).encode())
        if mode == "not_strings":
            return self._send(200, json.dumps({"entity": C1, "cardinality": "low", "tags": ["a:b", 3]}).encode())
        if mode == "array":
            return self._send(200, json.dumps(["image_name:nginx"]).encode())
        if isinstance(mode, int):
            return self._send(mode, json.dumps({"error": "forced"}).encode())
        if isinstance(mode, tuple):  # (status, a body that looks like tags)
            return self._send(mode[0], json.dumps({"entity": C1, "cardinality": "low", "tags": ["a:b"]}).encode())
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path != "/v1/tags":
            return self._send(404, b'{"error":"no route"}')
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self._send(401, b'{"error":"missing or wrong bearer token"}')
        entity = query.get("entity", [""])[0]
        cardinality = query.get("cardinality", [""])[0]
        if cardinality not in C1_TAGS:
            return self._send(400, b'{"error":"bad cardinality"}')
        tags = []  # an unknown entity is 200 with no tags, as the daemon answers
        if entity == C1:
            for level in ("low", "orchestrator", "high"):
                tags += C1_TAGS[level]
                if level == cardinality:
                    break
        self._send(200, json.dumps({"entity": entity, "cardinality": cardinality, "tags": tags}).encode())

    def setup(self) -> None:
        super().setup()
        self.server.daemon.open_sockets.add(self.connection)  # type: ignore[attr-defined]
        self.server.daemon.accepted += 1  # type: ignore[attr-defined]

    def finish(self) -> None:
        self.server.daemon.open_sockets.discard(self.connection)  # type: ignore[attr-defined]
        super().finish()

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass  # quiet; on a unix socket the default would also fail on the empty client address


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class _TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class FakeDaemon:
    """The daemon's /v1/tags on a temp unix socket, or on 127.0.0.1 with an ephemeral port."""

    def __init__(self, directory: str, tcp: bool = False) -> None:
        self.requests = []  # type: list
        self.accepted = 0  # connections
        self.open_sockets = set()  # type: set
        self.mode = "ok"  # type: object
        self.release = threading.Event()
        if tcp:
            self.server = _TcpServer(("127.0.0.1", 0), _Handler)  # type: socketserver.BaseServer
            self.address = "127.0.0.1:%d" % self.server.server_address[1]
        else:
            self.address = os.path.join(directory, "tagger.sock")
            self.server = _UnixServer(self.address, _Handler)
        self.server.daemon = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stops as a daemon process would: kept-alive connections die with it."""
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        for sock in list(self.open_sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(5)


class _Base(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="tagger-py-")
        self.token_file = os.path.join(self.dir, "auth_token")
        with open(self.token_file, "w") as f:
            f.write(TOKEN + "\n")  # the daemon's file may end with a newline
        env = {k: v for k, v in os.environ.items() if k not in _TAGGER_ENV}
        patcher = mock.patch.dict(os.environ, env, clear=True)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.addCleanup(tagger.close)
        tagger.close()

    def start_daemon(self, tcp: bool = False) -> FakeDaemon:
        daemon = FakeDaemon(self.dir, tcp=tcp)
        self.addCleanup(daemon.stop)
        os.environ["TAGGER_AUTH_TOKEN_FILE"] = self.token_file
        os.environ["TAGGER_ADDRESS" if tcp else "TAGGER_SOCKET"] = daemon.address
        return daemon


class FakeDaemonTest(_Base):
    def test_ok_returns_the_tags_and_sends_path_query_and_token(self) -> None:
        daemon = self.start_daemon()
        self.assertEqual(tagger.tag(C1, tagger.LOW), ["image_name:nginx", "short_image:nginx", "image_tag:1.27"])
        self.assertEqual(len(daemon.requests), 1)
        path, headers = daemon.requests[0]
        url = urlsplit(path)
        self.assertEqual(url.path, "/v1/tags")
        self.assertEqual(parse_qs(url.query), {"entity": [C1], "cardinality": ["low"]})
        self.assertEqual(headers.get("Authorization"), "Bearer " + TOKEN)

    def test_constants_map_to_the_query_cardinality(self) -> None:
        daemon = self.start_daemon()
        self.assertEqual((tagger.LOW, tagger.ORCHESTRATOR, tagger.HIGH), (0, 1, 2))
        self.assertEqual(len(tagger.tag(C1, tagger.LOW)), 3)
        self.assertEqual(tagger.tag(C1, tagger.ORCHESTRATOR)[3:], ["pod_name:web-7d9f8c6b5-x2x9q"])
        self.assertEqual(tagger.tag(C1, tagger.HIGH)[4:], ["container_name:web", "container_id:" + "a1" * 32])
        sent = [parse_qs(urlsplit(p).query)["cardinality"] for p, _ in daemon.requests]
        self.assertEqual(sent, [["low"], ["orchestrator"], ["high"]])

    def test_get_tags_high_card_means_high_else_low(self) -> None:
        daemon = self.start_daemon()
        self.assertEqual(len(tagger.get_tags(C1)), 3)
        self.assertEqual(len(tagger.get_tags(C1, high_card=True)), 6)
        self.assertEqual(len(tagger.get_tags(C1, False)), 3)
        sent = [parse_qs(urlsplit(p).query)["cardinality"][0] for p, _ in daemon.requests]
        self.assertEqual(sent, ["low", "high", "low"])

    def test_unknown_entity_is_empty(self) -> None:
        self.start_daemon()
        self.assertEqual(tagger.tag(C2, tagger.HIGH), [])

    def test_entity_is_url_encoded(self) -> None:
        daemon = self.start_daemon()
        odd = "container_id://name with spaces&cardinality=high#x"
        self.assertEqual(tagger.tag(odd, tagger.LOW), [])
        query = parse_qs(urlsplit(daemon.requests[0][0]).query)
        self.assertEqual(query, {"entity": [odd], "cardinality": ["low"]})

    def test_connection_is_reused_across_calls(self) -> None:
        daemon = self.start_daemon()
        for _ in range(5):
            self.assertEqual(len(tagger.tag(C1, tagger.LOW)), 3)
        self.assertEqual(len(daemon.requests), 5)
        self.assertEqual(daemon.accepted, 1)

    def _restart(self, daemon: FakeDaemon) -> FakeDaemon:
        """A daemon restart on the same path: the kept connection is dead."""
        daemon.stop()
        os.unlink(daemon.address)
        return self.start_daemon()

    def test_idle_connection_closed_by_the_daemon_is_replaced_before_use(self) -> None:
        first = self.start_daemon()
        self.assertEqual(len(tagger.tag(C1, tagger.LOW)), 3)
        second = self._restart(first)
        seen = []
        real = tagger._still_open

        def spy(conn: object) -> bool:
            seen.append(real(conn))  # type: ignore[arg-type]
            return seen[-1]

        # As if the connection had been idle for a while: it is checked before being used.
        with mock.patch.object(tagger, "_FRESH_FOR", 0.0), mock.patch.object(tagger, "_still_open", spy):
            self.assertEqual(len(tagger.tag(C1, tagger.LOW)), 3)
        self.assertEqual(seen, [False])
        self.assertEqual(len(second.requests), 1)

    def test_retries_once_when_a_reused_connection_fails(self) -> None:
        # A connection used moments ago is not checked; if the daemon closed it meanwhile, the
        # request fails on it and is retried once on a new one.
        first = self.start_daemon()
        self.assertEqual(len(tagger.tag(C1, tagger.LOW)), 3)
        second = self._restart(first)
        with mock.patch.object(tagger, "_FRESH_FOR", 3600.0):
            self.assertEqual(len(tagger.tag(C1, tagger.LOW)), 3)
        self.assertEqual(len(second.requests), 1)

    def test_connection_closed_mid_request_is_empty(self) -> None:
        daemon = self.start_daemon()
        daemon.mode = "close"
        self.assertEqual(tagger.tag(C1, tagger.LOW), [])
        daemon.mode = "ok"
        self.assertEqual(len(tagger.tag(C1, tagger.LOW)), 3)

    def test_daemon_down_is_empty(self) -> None:
        os.environ["TAGGER_SOCKET"] = os.path.join(self.dir, "nobody.sock")
        os.environ["TAGGER_AUTH_TOKEN_FILE"] = self.token_file
        start = time.monotonic()
        self.assertEqual(tagger.tag(C1, tagger.LOW), [])
        self.assertLess(time.monotonic() - start, 0.5)

    def test_tcp_daemon_down_is_empty(self) -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()  # nothing listens there now
        os.environ["TAGGER_ADDRESS"] = "127.0.0.1:%d" % port
        os.environ["TAGGER_AUTH_TOKEN_FILE"] = self.token_file
        self.assertEqual(tagger.tag(C1, tagger.LOW), [])

    def test_slow_daemon_is_empty_within_the_timeout(self) -> None:
        daemon = self.start_daemon()
        daemon.mode = "slow"
        os.environ["TAGGER_TIMEOUT"] = "0.3"
        start = time.monotonic()
        self.assertEqual(tagger.tag(C1, tagger.LOW), [])
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.25)
        self.assertLess(elapsed, 0.3 + 0.4)
        self.assertEqual(len(daemon.requests), 1)  # a timeout is not retried

    def test_slow_daemon_on_a_kept_connection_is_empty_within_the_timeout(self) -> None:
        daemon = self.start_daemon()
        os.environ["TAGGER_TIMEOUT"] = "0.3"
        self.assertEqual(len(tagger.tag(C1, tagger.LOW)), 3)
        daemon.mode = "slow"
        start = time.monotonic()
        self.assertEqual(tagger.tag(C1, tagger.LOW), [])
        self.assertLess(time.monotonic() - start, 0.3 + 0.4)
        self.assertEqual(len(daemon.requests), 2)  # not retried on a new connection either
        daemon.release.set()
        daemon.mode = "ok"
        self.assertEqual(len(tagger.tag(C1, tagger.LOW)), 3)  # a new connection after the timeout

    def test_garbage_body_is_empty(self) -> None:
        self.start_daemon().mode = "garbage"
        self.assertEqual(tagger.tag(C1, tagger.LOW), [])

    def test_wrong_json_shapes_are_empty(self) -> None:
        daemon = self.start_daemon()
        for mode in ("wrong_shape", "not_strings", "array"):
            daemon.mode = mode
            self.assertEqual(tagger.tag(C1, tagger.LOW), [], mode)

    def test_401_is_empty(self) -> None:
        self.start_daemon()
        with open(self.token_file, "w") as f:
            f.write("f" * 64)
        self.assertEqual(tagger.tag(C1, tagger.LOW), [])

    def test_500_and_other_statuses_are_empty(self) -> None:
        daemon = self.start_daemon()
        for status in (500, 503, 400, 404):
            daemon.mode = status
            self.assertEqual(tagger.tag(C1, tagger.LOW), [], status)
        daemon.mode = "ok"
        self.assertEqual(len(tagger.tag(C1, tagger.LOW)), 3)  # and the connection survives

    def test_non_200_is_empty_even_with_a_tags_body(self) -> None:
        daemon = self.start_daemon()
        for status in (203, 404, 500):
            daemon.mode = (status, "tags")
            self.assertEqual(tagger.tag(C1, tagger.LOW), [], status)

    def test_token_file_missing_is_empty_without_asking(self) -> None:
        daemon = self.start_daemon()
        os.environ["TAGGER_AUTH_TOKEN_FILE"] = os.path.join(self.dir, "missing")
        self.assertEqual(tagger.tag(C1, tagger.LOW), [])
        self.assertEqual(daemon.requests, [])

    def test_token_file_rotation_is_picked_up(self) -> None:
        self.start_daemon()
        with open(self.token_file, "w") as f:
            f.write("wrong")
        self.assertEqual(tagger.tag(C1, tagger.LOW), [])
        with open(self.token_file, "w") as f:
            f.write(TOKEN)  # another size: seen even within the mtime's granularity
        self.assertEqual(len(tagger.tag(C1, tagger.LOW)), 3)

    def test_tcp_address(self) -> None:
        daemon = self.start_daemon(tcp=True)
        self.assertEqual(len(tagger.tag(C1, tagger.HIGH)), 6)
        self.assertEqual(daemon.requests[0][1].get("Authorization"), "Bearer " + TOKEN)

    def test_socket_wins_over_address(self) -> None:
        unix = self.start_daemon()
        os.environ["TAGGER_ADDRESS"] = "127.0.0.1:1"  # would refuse
        self.assertEqual(len(tagger.tag(C1, tagger.LOW)), 3)
        self.assertEqual(len(unix.requests), 1)

    def test_bad_address_is_empty(self) -> None:
        os.environ["TAGGER_ADDRESS"] = "no-port-here"
        os.environ["TAGGER_AUTH_TOKEN_FILE"] = self.token_file
        self.assertEqual(tagger.tag(C1, tagger.LOW), [])

    def test_bad_cardinality_raises_type_error(self) -> None:
        for bad in (3, -1, None, 1.0, True, "low", "high", [0]):
            with self.assertRaises(TypeError) as caught:
                tagger.tag(C1, bad)  # type: ignore[arg-type]
            self.assertEqual(str(caught.exception), "Invalid cardinality", repr(bad))

    def test_non_string_entity_raises_type_error(self) -> None:
        for bad in (None, 42, b"container_id://abc", ["container_id://abc"]):
            with self.assertRaises(TypeError):
                tagger.tag(bad, tagger.LOW)  # type: ignore[arg-type]
            with self.assertRaises(TypeError):
                tagger.get_tags(bad)  # type: ignore[arg-type]

    @unittest.skipUnless(hasattr(os, "fork"), "no fork")
    def test_forked_child_opens_its_own_connection(self) -> None:
        daemon = self.start_daemon()
        self.assertEqual(len(tagger.tag(C1, tagger.LOW)), 3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12: fork with threads running
            pid = os.fork()
        if pid == 0:  # the child: never return into unittest
            ok = len(tagger.tag(C1, tagger.ORCHESTRATOR)) == 4
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.WEXITSTATUS(status), 0)
        self.assertEqual(len(tagger.tag(C1, tagger.HIGH)), 6)  # the parent's connection still works
        self.assertEqual(len(daemon.requests), 3)
        self.assertEqual(daemon.accepted, 2)

    def test_threads_each_get_answers(self) -> None:
        self.start_daemon()
        results = []
        lock = threading.Lock()

        def work() -> None:
            for _ in range(20):
                got = tagger.tag(C1, tagger.ORCHESTRATOR)
                with lock:
                    results.append(len(got))
            tagger.close()

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        self.assertEqual(results, [4] * 80)


@unittest.skipUnless(os.environ.get("TAGGER_LIVE_SOCKET"), "TAGGER_LIVE_SOCKET not set (no live daemon)")
class LiveDaemonTest(unittest.TestCase):
    """Against a real daemon. TAGGER_LIVE_SOCKET, TAGGER_LIVE_TOKEN_FILE, and an entity it knows
    (TAGGER_LIVE_ENTITY) with one of its low tags (TAGGER_LIVE_EXPECT_TAG)."""

    def setUp(self) -> None:
        live = os.environ
        env = {k: v for k, v in live.items() if k not in _TAGGER_ENV}
        env["TAGGER_SOCKET"] = live["TAGGER_LIVE_SOCKET"]
        env["TAGGER_AUTH_TOKEN_FILE"] = live.get("TAGGER_LIVE_TOKEN_FILE", "")
        env["TAGGER_TIMEOUT"] = "5"  # a loaded CI machine must not turn a pass into []
        patcher = mock.patch.dict(os.environ, env, clear=True)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.addCleanup(tagger.close)
        tagger.close()

    def test_live_known_entity_has_its_tag(self) -> None:
        entity = os.environ.get("TAGGER_LIVE_ENTITY", "")
        expected = os.environ.get("TAGGER_LIVE_EXPECT_TAG", "")
        self.assertTrue(entity and expected, "set TAGGER_LIVE_ENTITY and TAGGER_LIVE_EXPECT_TAG")
        low = tagger.tag(entity, tagger.LOW)
        self.assertIn(expected, low)
        high = tagger.get_tags(entity, high_card=True)
        self.assertEqual(high[: len(low)], low)  # each level is a prefix of the next
        self.assertGreaterEqual(len(high), len(low))

    def test_live_unknown_entity_is_empty(self) -> None:
        self.assertEqual(tagger.tag("container_id://" + "0" * 64, tagger.HIGH), [])

    def test_live_malformed_entity_is_empty(self) -> None:
        self.assertEqual(tagger.tag("not-an-entity", tagger.LOW), [])  # the daemon's 400

    def test_live_wrong_token_is_empty(self) -> None:
        bad = tempfile.NamedTemporaryFile("w", suffix=".token", delete=False)
        self.addCleanup(os.unlink, bad.name)
        bad.write("0" * 64)
        bad.close()
        os.environ["TAGGER_AUTH_TOKEN_FILE"] = bad.name
        self.assertEqual(tagger.tag(os.environ.get("TAGGER_LIVE_ENTITY", "x"), tagger.LOW), [])


if __name__ == "__main__":
    unittest.main()
