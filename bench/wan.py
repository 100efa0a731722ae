"""WAN latency: the walkthrough and single trades through a loopback proxy adding a round-trip time.

The proxy holds every chunk it forwards for half the round-trip time, in each
direction, and keeps their order: a statement and its answer cost one RTT,
as they would across a network. Nothing leaves 127.0.0.1 but the connection
to the server under test.
"""

import asyncio
import functools
import threading
from statistics import median

import peewee_example
from peewee_example import Player

from .measure import counted
from .public_sample import PATTERNS, walkthrough_trades
from .roundtrips import DONE, REFUSED, reset_traders


class DelayProxy:
    def __init__(self, target_host, target_port, rtt):
        self.target = (target_host, target_port)
        self.delay = rtt / 2
        self.port = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)

    def __enter__(self):
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("the delaying proxy did not start")
        return self

    def __exit__(self, *exc_info):
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    async def _serve(self):
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        relays = set()

        async def accept(reader, writer):
            # The relay runs as a task of its own, so stopping can cancel it
            # without cancelling the task asyncio's server is watching.
            relay = asyncio.ensure_future(self._relay(reader, writer))
            relays.add(relay)
            try:
                await relay
            except asyncio.CancelledError:
                pass
            finally:
                relays.discard(relay)

        server = await asyncio.start_server(accept, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            for relay in list(relays):
                relay.cancel()
            await asyncio.gather(*relays, return_exceptions=True)

    async def _relay(self, client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        try:
            await asyncio.gather(
                self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer)
            )
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            client_writer.close()
            server_writer.close()

    async def _pipe(self, reader, writer):
        """Forward each chunk `delay` seconds after it arrived, in order, until end of stream."""
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
                queue.put_nowait((self._loop.time() + self.delay, chunk))
                if not chunk:
                    break
            await sender
        finally:
            sender.cancel()


def timed_runs(db, action, times, expected=None, setup=None):
    """Median wall time of `action` over `times` runs, and the statements of one."""
    runs = []
    for _ in range(times):
        if setup:
            setup()
        seconds, result, statements = counted(db, action)
        if expected is not None and result != expected:
            raise AssertionError("%r returned %r, not %r" % (action, result, expected))
        runs.append((seconds, statements))
    return {"wall_s": median([r[0] for r in runs]), "statements": runs[0][1], "repetitions": times}


def run(database, driver, rtt, times):
    """`database` must reach the server through a DelayProxy of `rtt` seconds."""
    peewee_example.db.initialize(database)
    database.connect(reuse_if_open=True)
    database.create_tables([Player])
    figures = []
    try:
        for pattern, trade_function in PATTERNS.items():
            with walkthrough_trades(trade_function):
                walkthrough = timed_runs(database, peewee_example.walkthrough, times)
            trade = timed_runs(
                database,
                functools.partial(trade_function, **DONE),
                times,
                expected=True,
                setup=reset_traders,
            )
            refused = timed_runs(
                database,
                functools.partial(trade_function, **REFUSED),
                times,
                expected=False,
                setup=reset_traders,
            )
            figures.append(
                {
                    "driver": driver,
                    "pattern": pattern,
                    "rtt_ms": rtt * 1000,
                    "walkthrough": walkthrough,
                    "trade": trade,
                    "refused_trade": refused,
                }
            )
    finally:
        database.close()
    return figures
