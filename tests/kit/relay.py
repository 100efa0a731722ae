"""A loopback relay in front of a MySQL server that reads the protocol's packets.

It counts round trips honestly (one per command the client sends: a packet
with sequence id 0), records each statement, can add a network's round-trip
time, and can lose the reply to a chosen statement after the server executed
it. The benchmark and the tests use it; nothing leaves 127.0.0.1 but the
connection to the server behind it.
"""

import asyncio
import threading

#: Seconds any one wait of the relay's own may last: starting, connecting, stopping, a cut reply.
TIMEOUT_S = 10.0
HEADER = 4
LONGEST_PACKET = 0xFFFFFF  # a payload this long continues in the next packet
COM_QUIT, COM_QUERY = 0x01, 0x03
CLIENT_SSL = 0x800
SSL_REQUEST_LENGTH = 32


class Relay:
    """A TCP relay on 127.0.0.1 in front of target_host:target_port; a context manager.

    round_trips: the commands clients sent (each waits for its reply; COM_QUIT
    does not), over all connections; statements: the COM_QUERY texts, in order.

    rtt: seconds added to each round trip, half in each direction, order kept.
    cut_after: callable(statement) -> bool. When true for a COM_QUERY, the
    statement reaches the server, the server's reply is dropped and both
    connections are closed: the client sees a lost connection (2013) although
    the server executed the statement (say, a COMMIT).
    A connection that starts TLS is relayed byte for byte, neither counted nor cut.
    """

    host = "127.0.0.1"

    def __init__(self, target_host, target_port, rtt=0.0, cut_after=None):
        self.target = (target_host, target_port)
        self.delay = rtt / 2
        self.cut_after = cut_after
        self.port = None
        self.round_trips = 0
        self.statements = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread = None

    def reset(self):
        with self._lock:
            self.round_trips = 0
            self.statements = []

    def start(self):
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)
        self._thread.start()
        if not self._ready.wait(TIMEOUT_S) or self.port is None:
            raise RuntimeError("the relay did not start within %.0f s" % TIMEOUT_S)
        return self

    def stop(self):
        """Close every connection through the relay, and the relay."""
        if self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(TIMEOUT_S)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    async def _serve(self):
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        links = set()

        async def accept(reader, writer):
            # Each link runs as a task of its own, so stopping can cancel it
            # without cancelling the task asyncio's server is watching.
            link = asyncio.ensure_future(self._link(reader, writer))
            links.add(link)
            try:
                await link
            except asyncio.CancelledError:
                pass
            finally:
                links.discard(link)

        try:
            server = await asyncio.start_server(accept, self.host, 0)
            self.port = server.sockets[0].getsockname()[1]
        finally:
            self._ready.set()
        async with server:
            await self._stop.wait()
            for link in list(links):
                link.cancel()
            await asyncio.gather(*links, return_exceptions=True)

    async def _link(self, client_reader, client_writer):
        """One client connection and the server connection behind it, until either ends."""
        try:
            server_reader, server_writer = await asyncio.wait_for(
                asyncio.open_connection(*self.target), TIMEOUT_S
            )
        except (OSError, asyncio.TimeoutError):
            client_writer.close()
            return
        messages = ClientMessages()
        cutting = False

        def from_client(chunk):
            nonlocal cutting
            for sequence, payload in messages.feed(chunk):
                if sequence != 0 or payload[:1] == bytes([COM_QUIT]):
                    continue  # the handshake, a later packet of a command, or a goodbye
                statement = None
                if payload[:1] == bytes([COM_QUERY]):
                    statement = payload[1:].decode("utf-8", "replace")
                with self._lock:
                    self.round_trips += 1
                    if statement is not None:
                        self.statements.append(statement)
                if statement is not None and self.cut_after and self.cut_after(statement):
                    cutting = True
                    # Bounded: a server that never replies still ends the link.
                    self._loop.call_later(TIMEOUT_S, pipes[1].cancel)
            return True

        def from_server(chunk):
            return not cutting  # the reply to the cut statement: drop it and end the link

        pipes = [
            asyncio.create_task(self._pipe(client_reader, server_writer, from_client)),
            asyncio.create_task(self._pipe(server_reader, client_writer, from_server)),
        ]
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            client_writer.close()
            server_writer.close()

    async def _pipe(self, reader, writer, inspect):
        """Forward each chunk `delay` seconds after it arrived, in order, until end of stream.

        inspect(chunk) sees each chunk as it arrives; when it returns false,
        the chunk is dropped and the pipe ends.
        """
        queue = asyncio.Queue()

        async def send():
            while True:
                due, chunk = await queue.get()
                await asyncio.sleep(max(0.0, due - self._loop.time()))
                if not chunk:
                    writer.close()
                    return
                writer.write(chunk)
                await writer.drain()

        sender = asyncio.create_task(send())
        try:
            while True:
                chunk = await reader.read(1 << 16)
                if chunk and not inspect(chunk):
                    return
                queue.put_nowait((self._loop.time() + self.delay, chunk))
                if not chunk:
                    break
            await sender
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            sender.cancel()


class ClientMessages:
    """Splits what a client sends into (sequence id, payload) messages, until it starts TLS."""

    def __init__(self):
        self.buffer = bytearray()
        self.parts = []  # the packets so far of a message longer than one packet
        self.sequence = None
        self.first = True
        self.tls = False

    def feed(self, chunk):
        if self.tls:
            return []
        self.buffer += chunk
        messages = []
        while len(self.buffer) >= HEADER:
            length = int.from_bytes(self.buffer[:3], "little")
            if len(self.buffer) < HEADER + length:
                break
            if not self.parts:
                self.sequence = self.buffer[3]
            self.parts.append(bytes(self.buffer[HEADER : HEADER + length]))
            del self.buffer[: HEADER + length]
            if length == LONGEST_PACKET:
                continue
            payload = b"".join(self.parts)
            self.parts = []
            if self.first:
                self.first = False
                capabilities = int.from_bytes(payload[:4], "little")
                if len(payload) == SSL_REQUEST_LENGTH and capabilities & CLIENT_SSL:
                    self.tls = True  # what follows is TLS: relay it as it is
                    self.buffer.clear()
                    return messages
            messages.append((self.sequence, payload))
        return messages
