"""A case-management system's webhook receiver, as a supplier would write one: it checks the
signature, de-duplicates on the idempotency key, and acts once per delivery."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from contactpoint.notifications.webhooks import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signature_verify


class Receiver:
    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.answers: list[int] = []  # statuses to answer with, in order; then 200
        self.requests: list[dict] = []  # every request that arrived
        self.acted_on: list[dict] = []  # what the system acted on: once per idempotency key
        self.refused_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"key": self.headers[IDEMPOTENCY_HEADER], "body": body})
                if not signature_verify(receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), body):
                    receiver.refused_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                status = receiver.answers.pop(0) if receiver.answers else 200
                if status == 200 and self.headers[IDEMPOTENCY_HEADER] not in {
                    a["id"] for a in receiver.acted_on
                }:
                    receiver.acted_on.append(json.loads(body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/contactpoint-events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
