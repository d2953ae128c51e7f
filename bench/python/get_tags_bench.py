"""Round-trips per second of tagger.get_tags beside a bare http.client round-trip to the same server.

    python3 bench/python/get_tags_bench.py                       # against a fake daemon it starts
    python3 bench/python/get_tags_bench.py --socket S --token-file F --entity E   # a given daemon

The baseline is the least a client can do for the same answer: one kept-alive http.client
connection over the same unix socket, the same request line and token, json.loads, and taking
"tags". What get_tags adds on top (argument checks, env and token-file stat, URL encoding, idle
check, shape check) is the difference. The fake daemon runs in a child process so that it does
not share this process's GIL. Prints one JSON document on stdout.
"""

import argparse
import http.client
import http.server
import json
import os
import platform
import socket
import socketserver
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlencode

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import tagger  # noqa: E402

TOKEN = "0123456789abcdef" * 4
ENTITY = "container_id://" + "ab" * 32
TAGS = ["docker_image:nginx:1.27", "image_name:nginx", "image_tag:1.27", "short_image:nginx",
        "kube_namespace:default", "kube_deployment:web", "pod_name:web-7d9f8c6b5-x2x9q",
        "container_id:" + "ab" * 32, "container_name:web"]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    body = json.dumps({"entity": ENTITY, "cardinality": "high", "tags": TAGS}).encode()

    def do_GET(self) -> None:  # noqa: N802
        ok = self.headers.get("Authorization") == "Bearer " + TOKEN
        body = self.body if ok else b'{"error":"missing or wrong bearer token"}'
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve(path: str) -> None:
    server = _Server(path, _Handler)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    server.serve_forever()


class _Unix(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=5)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def rate(fn, seconds: float) -> float:
    """Calls per second of fn, run for about `seconds`."""
    for _ in range(200):
        fn()  # warm up (and open the connection)
    n = 0
    start = time.perf_counter()
    end = start + seconds
    while True:
        for _ in range(200):
            fn()
        n += 200
        now = time.perf_counter()
        if now >= end:
            return n / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--socket")
    parser.add_argument("--token-file")
    parser.add_argument("--entity", default=ENTITY)
    parser.add_argument("--seconds", type=float, default=0.3, help="per round")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)

    child = None
    tmp = None
    if args.socket:
        sock_path, token_file, server = args.socket, args.token_file, "given"
    else:
        tmp = tempfile.mkdtemp(prefix="tagger-pybench-")
        sock_path, token_file, server = os.path.join(tmp, "fake.sock"), os.path.join(tmp, "token"), "fake"
        with open(token_file, "w") as f:
            f.write(TOKEN)
        child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", sock_path], stdout=subprocess.PIPE)
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
    try:
        os.environ["TAGGER_SOCKET"] = sock_path
        os.environ["TAGGER_AUTH_TOKEN_FILE"] = token_file or ""
        os.environ.pop("TAGGER_ADDRESS", None)
        with open(token_file or "") as f:
            token = f.read().strip()
        entity = args.entity
        expected = tagger.get_tags(entity, high_card=True)
        if not expected:
            raise SystemExit("get_tags returned [] for %s: is the daemon up and does it know the entity?" % entity)

        bare = _Unix(sock_path)
        path = "/v1/tags?" + urlencode((("entity", entity), ("cardinality", "high")))
        headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}

        def bare_call() -> list:
            bare.request("GET", path, headers=headers)
            return json.loads(bare.getresponse().read())["tags"]

        if bare_call() != expected:
            raise SystemExit("the bare client and get_tags disagree")

        def subject() -> list:
            return tagger.get_tags(entity, True)

        def cold() -> list:
            tagger.close()  # a connection per call: what persistence saves
            return tagger.get_tags(entity, True)

        best_subject = best_bare = 0.0
        for _ in range(args.rounds):
            best_bare = max(best_bare, rate(bare_call, args.seconds))
            best_subject = max(best_subject, rate(subject, args.seconds))
        cold_rate = rate(cold, args.seconds)
        bare.close()
        print(json.dumps({
            "python": platform.python_version(),
            "server": server,
            "tags": len(expected),
            "get_tags_per_s": round(best_subject),
            "bare_http_client_per_s": round(best_bare),
            "ratio": round(best_subject / best_bare, 3),
            "get_tags_us": round(1e6 / best_subject, 1),
            "bare_http_client_us": round(1e6 / best_bare, 1),
            "get_tags_new_connection_per_s": round(cold_rate),
            "rounds": args.rounds,
            "seconds_per_round": args.seconds,
        }))
    finally:
        tagger.close()
        if child is not None:
            child.terminate()
            child.wait(5)
        if tmp is not None:
            for name in ("fake.sock", "token"):
                try:
                    os.unlink(os.path.join(tmp, name))
                except OSError:
                    pass
            os.rmdir(tmp)


if __name__ == "__main__":
    main()
