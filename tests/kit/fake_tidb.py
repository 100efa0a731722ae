"""A fake MySQL server on the wire, for what no real server here can be: TiDB, or a careless one.

It speaks enough of the protocol for PyMySQL and mysqlclient: the handshake
(advertising no TLS), a switch to `mysql_clear_password` that catches any
password a client would send in clear, OK and error packets, and result sets.
It answers VERSION() and TIDB_VERSION() like the server it pretends to be,
and records every login and statement.
"""

import collections
import contextlib
import re
import socket
import socketserver
import struct
import threading

#: Seconds any one wait of the fake may last: a client's next packet, stopping.
TIMEOUT_S = 30.0

TIDB_VERSION = (
    "Release Version: v8.5.3\n"
    "Edition: Community\n"
    "Git Branch: HEAD\n"
    "Race Enabled: false\n"
    "Check Table Before Drop: false\n"
    "Store: tikv"
)

CLIENT_CONNECT_WITH_DB = 0x8
CLIENT_SSL = 0x800
CLIENT_PLUGIN_AUTH = 0x80000
CLIENT_CONNECT_ATTRS = 0x100000
CLIENT_LENENC_AUTH_DATA = 0x200000
CLIENT_DEPRECATE_EOF = 0x1000000
# Long password, found rows, long flag, connect with db, protocol 4.1,
# transactions, secure connection, multi statements/results, plugin auth,
# connect attributes, length-encoded auth data, deprecate EOF. No CLIENT_SSL.
CAPABILITIES = 0x1 | 0x2 | 0x4 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x10000 | 0x20000
CAPABILITIES |= CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS | CLIENT_LENENC_AUTH_DATA
CAPABILITIES |= CLIENT_DEPRECATE_EOF
SERVER_STATUS_AUTOCOMMIT = 0x2
UTF8MB4, BINARY = 45, 63
TYPE_LONGLONG, TYPE_VAR_STRING = 0x08, 0xFD
COM_QUIT, COM_INIT_DB, COM_QUERY = 0x01, 0x02, 0x03

#: One connection's handshake response: who logged in, how.
Login = collections.namedtuple("Login", "user database ssl plugin")

TIDB_COMMENT = re.compile(r"/\*T!(.*?)\*/", re.S)
SELECT = re.compile(r"\s*SELECT\s+(.*?)\s*;?\s*$", re.I | re.S)
ITEM = re.compile(
    r"(?P<expr>TIDB_VERSION\(\)|VERSION\(\)|-?\d+|'[^']*')(?:\s+(?:AS\s+)?`?(?P<alias>\w+)`?)?$",
    re.I,
)


class FakeServer:
    """A fake MySQL (tidb_version=None) or TiDB server on a free loopback port; a context manager.

    answers: {statement or compiled regex (searched): rows (list of tuples)
    or an error (code, message[, sqlstate]), or a function of the statement
    giving either (or None for OK)}, looked up before the built-in answers;
    any other statement gets OK. silent=True: connections are
    accepted but never greeted, as by a load balancer with nothing behind it.
    """

    host = "127.0.0.1"

    def __init__(
        self, version="8.0.11-TiDB-v8.5.3", tidb_version=TIDB_VERSION, answers=None, silent=False
    ):
        self.version = version
        self.tidb_version = tidb_version
        self.answers = answers or {}
        self.silent = silent
        self.port = None
        self.logins = []
        self.passwords = []
        self.statements = []
        self.accepted = 0  # connections accepted so far
        self._open = set()
        self._server = None

    def start(self):
        self._server = _TCPServer((self.host, 0), _Connection)
        self._server.fake = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        """Stop accepting, close every connection, and wait for their threads."""
        if self._server is None:
            return
        self._server.shutdown()
        for sock in list(self._open):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join(TIMEOUT_S)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def answer(self, statement, database):
        """(column names, rows), an error (code, message, sqlstate), or None for OK."""
        for key, answer in self.answers.items():
            if key == statement or (isinstance(key, re.Pattern) and key.search(statement)):
                if callable(answer):
                    answer = answer(statement)
                    if answer is None:
                        return None
                if answer and isinstance(answer[0], int):
                    return _error(*answer)
                width = len(answer[0]) if answer else 1
                return ["c%d" % i for i in range(1, width + 1)], list(answer)
        # TiDB runs what is inside /*T! ... */; MySQL takes it for a comment.
        effective = TIDB_COMMENT.sub(
            (lambda m: " %s " % m.group(1)) if self.tidb_version is not None else " ", statement
        )
        if self.tidb_version is None and "TIDB_VERSION()" in effective.upper():
            return _error(1305, "FUNCTION %s.TIDB_VERSION does not exist" % database, "42000")
        select = SELECT.match(effective)
        items = [ITEM.match(item.strip()) for item in select.group(1).split(",")] if select else []
        if items and all(items):
            names = [m.group("alias") or m.group("expr") for m in items]
            return names, [tuple(self.value(m.group("expr")) for m in items)]
        if "TIDB_VERSION()" in effective.upper():
            return ["TIDB_VERSION()"], [(self.tidb_version,)]
        return None

    def value(self, expr):
        """The value of one item this fake can select: a function it knows, or a literal."""
        known = {"VERSION()": self.version, "TIDB_VERSION()": self.tidb_version}
        if expr.upper() in known:
            return known[expr.upper()]
        return expr[1:-1] if expr.startswith("'") else int(expr)


def _error(code, message, sqlstate="HY000"):
    return code, message, sqlstate


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = False  # joined by server_close()
    block_on_close = True


class _Connection(socketserver.BaseRequestHandler):
    """One client, from greeting to COM_QUIT."""

    def handle(self):
        fake = self.server.fake
        fake._open.add(self.request)
        fake.accepted += 1
        self.request.settimeout(TIMEOUT_S)
        try:
            if fake.silent:
                while self.request.recv(1024):
                    pass
                return
            if self.log_in(fake):
                self.serve(fake)
        except (OSError, EOFError):
            pass
        finally:
            fake._open.discard(self.request)

    def log_in(self, fake):
        salt = b"0123456789abcdefghij"
        flags = struct.pack(
            "<HBHHB",
            CAPABILITIES & 0xFFFF,
            UTF8MB4,
            SERVER_STATUS_AUTOCOMMIT,
            CAPABILITIES >> 16,
            len(salt) + 1,
        )
        self.send(
            0,
            b"\x0a%s\0\x01\0\0\0%s\0%s%s%s\0mysql_native_password\0"
            % (fake.version.encode(), salt[:8], flags, b"\0" * 10, salt[8:]),
        )
        _, response = self.receive()
        client = struct.unpack_from("<I", response)[0]
        self.capabilities = client & CAPABILITIES
        if client & CLIENT_SSL and len(response) == 32:
            fake.logins.append(Login("", "", True, ""))
            return False  # an SSLRequest: this fake has no TLS to offer
        user, at = _zstring(response, 32)
        if client & CLIENT_LENENC_AUTH_DATA:
            length, at = _lenenc_int(response, at)
        else:
            length, at = response[at], at + 1
        at += length
        self.database = ""
        if client & CLIENT_CONNECT_WITH_DB:
            self.database, at = _zstring(response, at)
        plugin = _zstring(response, at)[0] if client & CLIENT_PLUGIN_AUTH else ""
        fake.logins.append(Login(user, self.database, False, plugin))
        self.send(2, b"\xfemysql_clear_password\0")
        sequence, password = self.receive()
        fake.passwords.append(password.rstrip(b"\0").decode("utf-8", "replace"))
        self.ok(sequence + 1)
        return True

    def serve(self, fake):
        while True:
            _, packet = self.receive()
            command, argument = packet[0], packet[1:].decode("utf-8", "replace")
            if command == COM_QUIT:
                return
            if command == COM_INIT_DB:
                self.database = argument
            if command != COM_QUERY:
                self.ok(1)
                continue
            fake.statements.append(argument)
            answer = fake.answer(argument, self.database or "test")
            if answer is None:
                self.ok(1)
            elif isinstance(answer[0], int):
                code, message, sqlstate = answer
                self.send(
                    1,
                    b"\xff" + struct.pack("<H", code) + b"#" + sqlstate.encode() + message.encode(),
                )
            else:
                self.result_set(*answer)

    def result_set(self, names, rows):
        sequence = 1
        self.send(sequence, _lenenc_int_bytes(len(names)))
        for i, name in enumerate(names):
            numbers = all(isinstance(row[i], int) for row in rows) and rows
            charset, kind = (BINARY, TYPE_LONGLONG) if numbers else (UTF8MB4, TYPE_VAR_STRING)
            sequence += 1
            self.send(
                sequence,
                b"".join(_lenenc_str(s) for s in ("def", "", "", "", name, name))
                + b"\x0c"
                + struct.pack("<HIBHB", charset, 1024, kind, 0, 0)
                + b"\0\0",
            )
        if not self.capabilities & CLIENT_DEPRECATE_EOF:
            sequence += 1
            self.eof(sequence)
        for row in rows:
            sequence += 1
            self.send(sequence, b"".join(b"\xfb" if v is None else _lenenc_str(v) for v in row))
        sequence += 1
        if self.capabilities & CLIENT_DEPRECATE_EOF:
            self.send(sequence, b"\xfe\0\0" + struct.pack("<HH", SERVER_STATUS_AUTOCOMMIT, 0))
        else:
            self.eof(sequence)

    def ok(self, sequence):
        self.send(sequence, b"\0\0\0" + struct.pack("<HH", SERVER_STATUS_AUTOCOMMIT, 0))

    def eof(self, sequence):
        self.send(sequence, b"\xfe" + struct.pack("<HH", 0, SERVER_STATUS_AUTOCOMMIT))

    def send(self, sequence, payload):
        self.request.sendall(struct.pack("<I", len(payload))[:3] + bytes([sequence]) + payload)

    def receive(self):
        """(sequence id, payload) of the client's next packet."""
        header = self.read(4)
        return header[3], self.read(int.from_bytes(header[:3], "little"))

    def read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.request.recv(n - len(data))
            if not chunk:
                raise EOFError("the client closed the connection")
            data += chunk
        return data


def _zstring(data, at):
    end = data.index(b"\0", at)
    return data[at:end].decode("utf-8", "replace"), end + 1


def _lenenc_int(data, at):
    first = data[at]
    if first < 0xFB:
        return first, at + 1
    size = {0xFC: 2, 0xFD: 3, 0xFE: 8}[first]
    return int.from_bytes(data[at + 1 : at + 1 + size], "little"), at + 1 + size


def _lenenc_int_bytes(n):
    if n < 0xFB:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + n.to_bytes(2, "little")
    if n < 1 << 24:
        return b"\xfd" + n.to_bytes(3, "little")
    return b"\xfe" + n.to_bytes(8, "little")


def _lenenc_str(value):
    data = str(value).encode()
    return _lenenc_int_bytes(len(data)) + data
