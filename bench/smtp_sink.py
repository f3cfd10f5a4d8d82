"""An SMTP server that accepts every message and keeps none: the far end of bench/send.py.

One thread per connection, blocking sockets and no parsing beyond what SMTP needs, so the
sink costs the sender as little waiting as a production relay on the same host would.
aiosmtpd answers about a thousand messages a second on this machine, which would measure
the sink rather than the sender. It prints the number of messages it accepted when stopped.

    python bench/smtp_sink.py PORT
"""

from __future__ import annotations

import signal
import socket
import socketserver
import sys
import threading
from types import FrameType

accepted = 0
lock = threading.Lock()


class Session(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        global accepted
        write = self.wfile.write
        write(b"220 sink ESMTP\r\n")
        self.wfile.flush()
        for line in self.rfile:
            verb = line[:4].upper()
            if verb in (b"EHLO",):
                write(b"250-sink\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n")
            elif verb == b"DATA":
                write(b"354 go ahead\r\n")
                self.wfile.flush()
                for body in self.rfile:
                    if body == b".\r\n":
                        break
                with lock:
                    accepted += 1
                write(b"250 2.0.0 accepted\r\n")
            elif verb == b"QUIT":
                write(b"221 bye\r\n")
                self.wfile.flush()
                return
            else:  # HELO, MAIL, RCPT, RSET, NOOP
                write(b"250 OK\r\n")
            self.wfile.flush()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()


def main() -> None:
    port = int(sys.argv[1])
    server = Server(("127.0.0.1", port), Session)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()
    print(accepted, flush=True)


if __name__ == "__main__":
    main()
