"""The web examples' test kit: each app started as a server process on a free port, real HTTP
to it, and the checks of examples/README.md's contract that both apps must pass."""

import contextlib
import http.client
import json
import random
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import quote

import peewee

from tests.conftest import ROOT, player_init_statement, poll, scrubbed_environ, server_environ
from tests.kit.servers import free_port, throwaway_database
from tidb_dialect.settings import database_from

#: How each app is started, as examples/README.md says ({port}: a free one).
COMMANDS = {
    "flask": ["-m", "flask", "--app", str(ROOT / "examples" / "flask_app"), "run", "--port"],
    "fastapi": ["-m", "uvicorn", "examples.fastapi_app:app", "--port"],
}
INT_MAX = 2**31 - 1
#: The players every test starts with: id -> (coins, goods).
PLAYERS = {"1": (100, 0), "2": (114514, 20), "3": (5000, 500), "4": (5000, 500)}
#: What each of the apps' 503 replies may say.
BUSY = (
    "the database is unavailable",
    "no database connection came free in time",
    "the outcome of the trade is unknown",
    "the trade kept conflicting with others",
)


def start_process(kind, environ, cwd):
    """examples/<kind>_app.py as a user starts it, in `cwd`, with `environ` only: the machine's
    own settings left out. Standard output and error go to cwd/<kind>.log."""
    port = free_port()
    env = dict(scrubbed_environ(), PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **environ)
    log = cwd / ("%s.log" % kind)
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, *COMMANDS[kind], str(port)],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, port, log


class Service:
    """One app serving on 127.0.0.1:port; request() returns (status, decoded JSON body)."""

    def __init__(self, kind, environ, cwd):
        self.kind = kind
        self.process, self.port, self.log = start_process(kind, environ, cwd)
        poll(self.ready)

    def ready(self):
        if self.process.poll() is not None:
            raise AssertionError(
                "%s exited %d: %s" % (self.kind, self.process.returncode, self.output())
            )
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", "/players/ready")
            conn.getresponse().read()
            conn.close()
        except OSError:
            return False
        return True

    def request(self, method, path, body=None, raw=None, timeout=30):
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            content = response.read()
        finally:
            conn.close()
        assert response.getheader("Content-Type", "").startswith("application/json"), content
        return response.status, json.loads(content)

    def trade(self, sell_id, buy_id, amount, price):
        body = {"sell_id": sell_id, "buy_id": buy_id, "amount": amount, "price": price}
        return self.request("POST", "/trade", body)

    def player(self, player_id):
        return self.request("GET", "/players/" + quote(player_id, safe=""))

    def output(self):
        return self.log.read_text()

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Send `sig`; the exit status once the process ended."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(
                    "%s still running %d s after %s" % (self.kind, timeout, sig)
                ) from None
        return self.process.returncode


class Admin:
    """The test's own session on the test's database, beside the app's connections."""

    def __init__(self, server, database_name):
        self.database_name = database_name
        self.db = database_from(server_environ(server, database_name))

    def fill(self, players=PLAYERS):
        self.db.execute_sql(player_init_statement())
        for player_id, (coins, goods) in players.items():
            self.db.execute_sql(
                "INSERT INTO player (id, coins, goods) VALUES (%s, %s, %s)",
                (player_id, coins, goods),
            )

    def balances(self):
        rows = self.db.execute_sql("SELECT id, coins, goods FROM player ORDER BY id").fetchall()
        return {player_id: (coins, goods) for player_id, coins, goods in rows}

    def app_connections(self):
        """Ids of the other sessions on the test's database: the app's."""
        return [
            row[0]
            for row in self.db.execute_sql(
                "SELECT ID FROM information_schema.PROCESSLIST "
                "WHERE DB = %s AND ID <> CONNECTION_ID()",
                (self.database_name,),
            ).fetchall()
        ]

    def kill(self, ids):
        for connection_id in ids:
            with contextlib.suppress(peewee.OperationalError):  # 1094: it ended already
                self.db.execute_sql("KILL CONNECTION %d" % connection_id)

    def close(self):
        self.db.close()


def traded(start, done):
    """The balances `start` leads to after the trades `done` ((sell, buy, amount, price))."""
    balances = {player_id: list(values) for player_id, values in start.items()}
    for sell_id, buy_id, amount, price in done:
        balances[sell_id][0] += price
        balances[sell_id][1] -= amount
        balances[buy_id][0] -= price
        balances[buy_id][1] += amount
    return {player_id: tuple(values) for player_id, values in balances.items()}


def totals(balances):
    return tuple(sum(values[i] for values in balances.values()) for i in (0, 1))


def random_trade(rng):
    sell_id, buy_id = rng.sample(sorted(PLAYERS), 2)
    return sell_id, buy_id, rng.randint(1, 30), rng.randint(1, 300)


def at_once(calls):
    """Each of `calls` in a thread of its own, all at once: their results, in order."""
    results = [None] * len(calls)

    def run(i):
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


class Load:
    """`clients` threads trading at random until stop(); `replies`: (trade, status, body)."""

    def __init__(self, service, clients, seed):
        self.service, self.replies = service, []
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self.client, args=(random.Random(seed + i),))
            for i in range(clients)
        ]
        for thread in self.threads:
            thread.start()

    def client(self, rng):
        while not self.stopping.is_set():
            args = random_trade(rng)
            status, body = self.service.trade(*args)
            with self.lock:
                self.replies.append((args, status, body))

    def count(self):
        with self.lock:
            return len(self.replies)

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(60)
        return self.replies


# The checks both apps must pass (examples/README.md, "The contract").


def check_reads_and_trades(service, admin):
    assert service.player("2") == (200, {"id": "2", "coins": 114514, "goods": 20})
    assert service.player("9") == (404, {"error": "unknown player id '9'"})
    assert service.trade("2", "1", 10, 500) == (
        200,
        {"done": False, "reason": "buy player 1 coins not enough"},
    )
    assert service.trade("1", "2", 1, 1) == (
        200,
        {"done": False, "reason": "sell player 1 goods not enough"},
    )
    assert service.trade("2", "1", 2, 100) == (200, {"done": True})
    for sell_id, buy_id in (("2", "9"), ("9", "2")):
        status, body = service.trade(sell_id, buy_id, 1, 1)
        assert (status, list(body)) == (404, ["error"]) and "'9'" in body["error"], body
    assert admin.balances() == dict(PLAYERS, **{"1": (0, 2), "2": (114614, 18)})
    status, body = service.request("GET", "/no/such/page")
    assert status == 404 and list(body) == ["error"]
    status, body = service.request("DELETE", "/trade")
    assert status == 405 and list(body) == ["error"]


GOOD = {"sell_id": "2", "buy_id": "1", "amount": 1, "price": 1}
NOT_AN_OBJECT = ("the body must be a JSON object",)
#: Request bodies (bytes: sent as they are) -> what the 400's error says (each of these).
BAD_BODIES = [
    (b"", NOT_AN_OBJECT),
    (b"{", NOT_AN_OBJECT),
    (b"\xff\xfe", NOT_AN_OBJECT),
    (b"null", NOT_AN_OBJECT),
    (b'[{"sell_id": "2"}]', NOT_AN_OBJECT),
    (b'"trade"', NOT_AN_OBJECT),
    *[
        (json.dumps({k: v for k, v in GOOD.items() if k != name}).encode(), ("missing: " + name,))
        for name in GOOD
    ],
    (b"{}", ("missing: sell_id, buy_id, amount, price",)),
    # The numbers: the lesson's own check (its words).
    *[
        (json.dumps(dict(GOOD, **{name: value})).encode(), (name, "1 to 2147483647", shown))
        for name in ("amount", "price")
        for value, shown in [
            (0, "0"),
            (-5, "-5"),
            (INT_MAX + 1, str(INT_MAX + 1)),
            (10**30, str(10**30)),
            (True, "True"),
            (1.0, "1.0"),
            (2.5, "2.5"),
            ("5", "'5'"),
            (None, "None"),
            ([1], "[1]"),
        ]
    ],
    *[
        (json.dumps(dict(GOOD, **{name: value})).encode(), (name + " must be a player id",))
        for name in ("sell_id", "buy_id")
        for value in ("", "x" * 37, "\ud800", 2, None, ["2"])
    ],
    (json.dumps(dict(GOOD, buy_id="2")).encode(), ("buy_id",)),  # the lesson's: the same twice
]


def check_bad_inputs(service, admin):
    before = admin.balances()
    for raw, error in BAD_BODIES:
        status, body = service.request("POST", "/trade", raw=raw)
        assert (status, list(body)) == (400, ["error"]), (raw, body)
        assert all(part in body["error"] for part in error), (raw, body)
    assert admin.balances() == before


def check_concurrent_trades(service, admin, seed, clients=16, trades=25):
    """`clients` at once, `trades` each: the balances are the start plus the trades done."""

    def client(rng):
        return [
            (args, *service.trade(*args)) for args in (random_trade(rng) for _ in range(trades))
        ]

    rngs = [random.Random(seed + i) for i in range(clients)]
    each = at_once([lambda rng=rng: client(rng) for rng in rngs])
    replies = [reply for replies in each for reply in replies]
    assert len(replies) == clients * trades
    assert {status for _, status, _ in replies} == {200}, replies
    done = [args for args, _, body in replies if body == {"done": True}]
    assert len(done) > clients * trades // 2
    assert admin.balances() == traded(PLAYERS, done)


def check_killed_connections(service, admin, seed, clients=16):
    """Every connection of the app killed twice mid-run; then every request works again."""
    load = Load(service, clients, seed)
    try:
        for _ in range(2):
            ids = poll(admin.app_connections)
            admin.kill(ids)
            poll(lambda ids=ids: not set(ids) & set(admin.app_connections()))
            after = load.count()
            poll(lambda after=after: load.count() >= after + 2 * clients)
    finally:
        replies = load.stop()
    for _, status, body in replies:
        assert status in (200, 503), body
        if status == 503:
            assert any(part in body["error"] for part in BUSY), body
    assert totals(admin.balances()) == totals(PLAYERS)
    if not any("unknown" in body.get("error", "") for _, _, body in replies):
        done = [args for args, _, body in replies if body == {"done": True}]
        assert admin.balances() == traded(PLAYERS, done)
    # Once the kills are over: every request works.
    rng = random.Random(seed)
    trades = [random_trade(rng) for _ in range(clients)]
    results = at_once([lambda args=args: service.trade(*args) for args in trades])
    assert [status for status, _ in results] == [200] * clients, results
    for player_id in PLAYERS:
        assert service.player(player_id)[0] == 200
    assert totals(admin.balances()) == totals(PLAYERS)


def statements_running(admin):
    """How many other sessions on the test's database are running a statement. (Not
    INNODB_TRX's lock waits: MariaDB refreshes that table only when it was not read for
    0.1 s, so polling it never sees a change.)"""
    return admin.db.execute_sql(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
        "WHERE DB = %s AND ID <> CONNECTION_ID() AND COMMAND = 'Query'",
        (admin.database_name,),
    ).fetchone()[0]


def check_full_pool(service, admin, holder, size, wait):
    """Player 1's row held by `holder`: `size` trades on it take the pool's connections and
    wait; the requests past them get 503 after the pool's `wait`, and the first ones finish
    200 once the lock goes."""
    holder.execute_sql("BEGIN")
    holder.execute_sql("SELECT * FROM player WHERE id = '1' FOR UPDATE")
    replies, late = [], []

    def waiting_trade():
        replies.append(service.trade("2", "1", 1, 1))

    def late_request():
        started = time.monotonic()
        reply = service.player("3")
        late.append((time.monotonic() - started, reply))

    first = [threading.Thread(target=waiting_trade) for _ in range(size)]
    for thread in first:
        thread.start()
    poll(lambda: statements_running(admin) == size)  # both wait for the lock
    more = [threading.Thread(target=late_request) for _ in range(3)]
    for thread in more:
        thread.start()
    for thread in more:
        thread.join(wait + 10)
    assert not replies  # the first ones still wait for the lock
    for elapsed, (status, body) in late:
        assert status == 503, body
        assert any(part in body["error"] for part in BUSY), body
        assert wait - 0.5 <= elapsed <= wait + 3, elapsed
    assert len(late) == 3
    holder.execute_sql("ROLLBACK")
    for thread in first:
        thread.join(30)
    assert replies == [(200, {"done": True})] * size
    assert admin.balances()["1"] == (100 - size, size)


def check_stops_on_sigterm(service, admin, status):
    assert service.player("1")[0] == 200
    assert service.stop(signal.SIGTERM) == status, service.output()
    poll(lambda: not admin.app_connections())  # its connections closed


def url(scheme, server, database_name, user=None, password=None, port=None, **parameters):
    """A database URL for the test's server (its own user unless `user`)."""
    user = user or server.user
    password = server.password if password is None else password
    secret = ":" + quote(password, safe="") if password else ""
    query = "&".join("%s=%s" % item for item in parameters.items())
    return "%s://%s%s@%s:%d/%s%s" % (
        scheme,
        quote(user, safe=""),
        secret,
        server.host,
        port or server.port,
        database_name,
        "?" + query if query else "",
    )


def start_with(kind, environ, cwd):
    """Start an app that must refuse to start: (exit status, its output)."""
    process, _, log = start_process(kind, environ, cwd)
    try:
        status = process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return status, log.read_text()


def database_kind(kind, environ, cwd):
    """The class name of the database the app's module makes from `environ`."""
    module = "examples.%s_app" % kind
    code = "import %s as app; print(type(app.database).__name__)" % module
    env = dict(scrubbed_environ(), PYTHONPATH=str(ROOT), **environ)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def check_commit_outcome_unknown(service, admin):
    """The reply to COMMIT lost (the relay cuts it after the server committed): 503 saying
    the outcome is unknown, never "not done"; the next request works."""
    status, body = service.trade("2", "1", 2, 100)
    assert status == 503 and "the outcome of the trade is unknown" in body["error"], body
    assert admin.balances() == dict(PLAYERS, **{"1": (0, 2), "2": (114614, 18)})  # it was done
    assert service.player("1") == (200, {"id": "1", "coins": 0, "goods": 2})


def check_survives_a_restart(start, kind, server):
    """The server stopped under a running app: 503 meanwhile; started again: every request
    works at once, nothing lost. `start` is the web_app fixture, `server` one to restart."""
    keeper = database_from(server_environ(server, "mysql"))
    with throwaway_database(keeper, "w_") as name:
        admin = Admin(server, name)
        admin.fill()
        service = start(kind, server_environ(server, name))
        assert service.trade("2", "1", 2, 100) == (200, {"done": True})
        admin.close()
        keeper.close()
        server.stop()
        status, body = service.player("1")
        assert status == 503 and any(part in body["error"] for part in BUSY), body
        server.start()
        assert service.player("1") == (200, {"id": "1", "coins": 0, "goods": 2})
        trades = [("3", "4", 1, 1)] * 16
        assert (
            at_once([lambda args=args: service.trade(*args) for args in trades])
            == [(200, {"done": True})] * 16
        )
        assert admin.balances() == dict(
            PLAYERS, **{"1": (0, 2), "2": (114614, 18), "3": (5016, 484), "4": (4984, 516)}
        )
        admin.close()
