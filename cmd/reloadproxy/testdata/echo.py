"""A small HTTP/1.1 server for the restart tests.

GET and HEAD answer a fixed body; POST answers its request body, byte for
byte. It listens on 127.0.0.1 at the port given as the first argument, or
$PORT. Requests are not logged: the tests hammer it, and the proxy's output
is what they read.
"""

import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b"hello from echo.py\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per response (the head and a small body together), sent at
    # once: a restart that kills the server cannot land between the head and
    # the body, and kept-alive connections do not wait for delayed ACKs.
    wbufsize = -1
    disable_nagle_algorithm = True

    def _answer(self, body, ctype, send_body=True):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def do_GET(self):
        self._answer(BODY, "text/plain; charset=utf-8")

    def do_HEAD(self):
        self._answer(BODY, "text/plain; charset=utf-8", send_body=False)

    def do_POST(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._answer(body, "application/octet-stream")

    def log_message(self, format, *args):
        pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ["PORT"])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("echo.py listening on 127.0.0.1:%d" % port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
