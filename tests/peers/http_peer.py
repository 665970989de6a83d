#!/usr/bin/env python3
"""An HTTP/1.1 device for mamori-gw's integration tests (python3 http.server).

Usage: http_peer.py PORT ADDR [ADDR...]

Listens on PORT of every ADDR (IPv4 or IPv6), each in a thread, and answers:
    /secret  401 Unauthorized, with WWW-Authenticate (a device's login page)
    /boom    500 Internal Server Error
    /        200 OK
    else     404 Not Found
Each response, head and body, is written with one write on an unbuffered
socket file, so that it leaves in one TCP segment: the test's oracle then
finds the whole response in one packet. The connection is closed after each
response. Prints "ready" once every address listens, and one line per
request ("GET /secret 401"), flushed.
"""
import http.server
import socket
import sys
import threading

PAGES = {
    "/secret": (401, "Unauthorized",
                [("WWW-Authenticate", 'Basic realm="mamori-device"')],
                b"login required\n"),
    "/boom": (500, "Internal Server Error", [], b"sensor bus failure\n"),
    "/": (200, "OK", [], b"mamori test device\n"),
}
NOT_FOUND = (404, "Not Found", [], b"no such page\n")
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        status, reason, headers, body = PAGES.get(self.path, NOT_FOUND)
        head = "HTTP/1.1 %d %s\r\n" % (status, reason)
        head += "Server: mamori-test-device\r\n"
        head += "Content-Type: text/plain\r\n"
        for k, v in headers:
            head += "%s: %s\r\n" % (k, v)
        head += "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        self.wfile.write(head.encode("ascii") + body)
        self.close_connection = True
        with lock:
            print("%s %s %d" % (self.command, self.path, status), flush=True)

    def log_message(self, *args):
        pass


class Server6(http.server.HTTPServer):
    address_family = socket.AF_INET6


def main(argv):
    if len(argv) < 2:
        print("usage: http_peer.py PORT ADDR [ADDR...]", file=sys.stderr)
        return 2
    port = int(argv[0])
    servers = []
    for addr in argv[1:]:
        cls = Server6 if ":" in addr else http.server.HTTPServer
        servers.append(cls((addr, port), Handler))
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
