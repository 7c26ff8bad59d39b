"""`smsgate serve`: N HTTP worker processes on one socket, and one engine.

With one worker the engine runs in the same process. With more, the parent process runs the
engine (dispatcher, connector, notifier) and supervises the workers, which only accept and
read. On SQLite that makes dispatching exactly-once by construction: one engine per database
file, held by an flock; a second one refuses to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import msgspec
import uvicorn

from .config import Config
from .http_protocol import CoalescingHttpToolsProtocol
from .http_server import QuietServer
from .store.base import OutboxScope, Store
from .waits import wait_set

# With a notifier process, the engine keeps the callbacks that go to its SMPP binds.
ENGINE_CALLBACKS = OutboxScope(only=frozenset({"smpp"}))
NOTIFIER_CALLBACKS = OutboxScope(skip=frozenset({"smpp"}))
HTTP_PROTOCOL = CoalescingHttpToolsProtocol  # a response's head and body in one send

log = logging.getLogger("smsgate.server")


def _uvicorn_config(config: Config, app: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        loop="uvloop",
        http=http_protocol(config),
        # Our own access log (app.ErrorGuard: with the request id, never a query string) and
        # no logging config of uvicorn's: its lines go to the root handler of logs.setup, in
        # the configured format.
        access_log=False,
        log_config=None,
        log_level=config.log_level,
        lifespan="on",
        server_header=False,
        backlog=4096,
        **proxy_options(config),
    )


def http_protocol(config: Config) -> type[CoalescingHttpToolsProtocol]:
    """HTTP_PROTOCOL with the configured header and keep-alive timeouts."""
    return HTTP_PROTOCOL.configured(
        header_timeout=config.header_timeout, keep_alive_timeout=config.keep_alive_timeout
    )


def proxy_options(config: Config) -> dict[str, Any]:
    """Forwarded headers only from the proxies configured (uvicorn would trust 127.0.0.1)."""
    if not config.forwarded_allow_ips.strip():
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": config.forwarded_allow_ips}


def serve(config: Config, prepare: Callable[[], None] | None = None) -> None:
    """Serve until SIGTERM or SIGINT. Both listen addresses are taken first (a taken one stops
    here with one line), then `prepare` runs (the database: its file, its schema), then the
    engine and the workers start."""
    _check_smpp_address(config)
    workers = config.worker_count()
    http = _listen_http(config, workers)
    shared: list[socket.socket] = []  # every worker's: the console's
    try:
        admin = config.admin_address()
        if admin is not None:  # the console on its own socket: every worker serves both
            shared.append(_listen(config, admin, "the console (admin_listen)"))
            bound = shared[0].getsockname()[1]  # a port 0 takes a free one: the app needs it
            config = msgspec.structs.replace(config, admin_listen=f"{admin[0]}:{bound}")
            log.info("console on http://%s:%d/admin", admin[0], bound)
        if prepare is not None:
            prepare()
        port = http[0].getsockname()[1]  # the bound one: --port 0 takes a free port
        noun = "worker" if workers == 1 else "workers"
        log.info("serving on http://%s:%d with %d %s", config.host, port, workers, noun)
        cpus = placement(config)
        if workers <= 1 and cpus is None:
            from .app import build_app

            app = build_app(config, run_engine=True)
            _freeze_heap()
            QuietServer(_uvicorn_config(config, app)).run(sockets=http + shared)
            return
        _supervise(config, workers, http, shared, cpus)
    finally:
        for each in http + shared:
            each.close()


def _check_smpp_address(config: Config) -> None:
    """A taken SMPP address (two nodes on one host) stops `serve` with one line, before
    anything starts; the lifespan that binds it for good would print a traceback."""
    from .app import enabled_dialects
    from .dialects.smpp.server import ListenError, check_listen, listen_address

    if config.smpp.port and any(d.name == "smpp" for d in enabled_dialects(config)):
        try:
            check_listen(*listen_address(config.smpp, config.host))
        except ListenError as exc:
            raise SystemExit(f"smsgate: {exc.strerror}") from None


def _listen_http(config: Config, workers: int) -> list[socket.socket]:
    """The HTTP sockets: one, or with several workers one a worker, all on one port
    (SO_REUSEPORT), so that the kernel spreads new connections over the workers evenly. On one
    shared socket the worker whose loop woke first accepted every connection waiting: of wrk's
    64 keep-alive connections 79-93% went to one worker, differently each run, and that
    worker's core was the limit while the other's idled. The supervisor keeps every socket
    open, so a restarted worker takes over its socket and the connections waiting in it.

    The port is taken first without SO_REUSEPORT: a taken port stops `serve` with one line, as
    before, and a second smsgate cannot join this one's group, since a socket bound without
    the option refuses it."""
    first = _listen(config)
    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        return [first]
    port = first.getsockname()[1]  # the bound one: --port 0 takes a free port
    first.close()
    return [_listen(config, (config.host, port), share=True) for _ in range(workers)]


def _listen(
    config: Config,
    address: tuple[str, int] | None = None,
    what: str = "HTTP",
    share: bool = False,
) -> socket.socket:
    """The HTTP socket (or `address`'s), bound and listening (the workers inherit it; `share`:
    one of a group on one port). A taken or unusable address stops `serve` with one line:
    uvicorn would print a traceback, or start the engine first and exit with its error among
    the start-up lines."""
    host, port = address or (config.host, config.port)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if share:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(4096)
    except OSError as exc:
        sock.close()
        setting = "`admin_listen`" if address else "`port`, SMSGATE_PORT or --port"
        raise SystemExit(
            f"smsgate: cannot listen for {what} on {host}:{port}: "
            f"{exc.strerror or exc} (another smsgate or server there? set {setting})"
        ) from None
    sock.set_inheritable(True)
    return sock


@dataclasses.dataclass(frozen=True)
class Placement:
    """The CPUs the engine process (and the notifier process it starts) runs on, and the
    workers' CPUs."""

    engine: frozenset[int]
    workers: frozenset[int]


def placement(config: Config) -> Placement | None:
    """With `pin_engine = "auto"` and fewer workers than the CPUs this process may use: the
    last CPU for the engine, the others for the workers, so that dispatching never waits for
    a worker's turn on a core (None: no pinning, the scheduler places every process)."""
    if config.pin_engine == "off" or not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if config.worker_count() >= len(cpus):
        return None
    return Placement(engine=frozenset(cpus[-1:]), workers=frozenset(cpus[:-1]))


def _pin(cpus: frozenset[int] | None) -> None:
    """This process (its threads started from now on) on `cpus`; a refusal (a container's
    cpuset changed under us) leaves it where the scheduler puts it."""
    if cpus:
        try:
            os.sched_setaffinity(0, cpus)
        except OSError as exc:
            log.warning("cannot pin to CPUs %s: %s", sorted(cpus), exc)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop for the engine process too (as uvicorn gives the workers), when installed."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _die_with_parent() -> None:
    """Linux: a worker gets SIGTERM when the supervisor dies, even by SIGKILL."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _child(raw_config: bytes, cpus: frozenset[int] | None = None) -> Config:
    """What every child process does first: die with the supervisor, take its CPUs, read its
    config, log."""
    _die_with_parent()
    _pin(cpus)
    from .logs import setup

    config = msgspec.json.decode(raw_config, type=Config)
    setup(config.log_level, config.log_format)
    return config


def _worker(
    raw_config: bytes, cpus: frozenset[int] | None, accepted: Connection, *socks: socket.socket
) -> None:
    """An HTTP worker; `accepted` wakes the engine's dispatcher when it accepts due messages."""
    config = _child(raw_config, cpus)
    from .app import build_app

    app = build_app(config, run_engine=False, on_accept=_Waker(accepted))
    server = QuietServer(_uvicorn_config(config, app))
    _freeze_heap()
    server.run(sockets=list(socks))


def _notifier(raw_config: bytes, wake: Connection) -> None:
    """The notifier process: every callback but the SMPP binds' (those go from the engine)."""
    config = _child(raw_config)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_run_notifier(config, wake))


Starter = Callable[[], multiprocessing.process.BaseProcess]


def _supervise(
    config: Config,
    workers: int,
    http: list[socket.socket],
    shared: list[socket.socket],
    cpus: Placement | None = None,
) -> None:
    """The workers, the notifier process and the engine (in this process). Worker i serves
    `http[i]` (or the one socket) and `shared`. With a placement, this process and the
    notifier it starts run on the engine's CPUs, the workers on theirs."""
    ctx = multiprocessing.get_context("spawn")
    if cpus is not None:
        _pin(cpus.engine)
        log.info("engine on CPU %s, workers on %s", _cpu_list(cpus.engine), _cpu_list(cpus.workers))
    raw = msgspec.json.encode(config)

    def start(target: Callable[..., None], *args: Any) -> Starter:
        def starter() -> multiprocessing.process.BaseProcess:
            proc = ctx.Process(target=target, args=(raw, *args), daemon=False)
            proc.start()
            return proc

        return starter

    worker_cpus = cpus.workers if cpus is not None else None
    accepted, accepts = ctx.Pipe(duplex=False)  # workers -> engine: due messages accepted
    children = [
        start(_worker, worker_cpus, accepts, http[i % len(http)], *shared) for i in range(workers)
    ]
    procs = [starter() for starter in children]
    notifier = None
    if config.notifier.own_process:
        wake_reader, wake_writer = ctx.Pipe(duplex=False)
        notifier = (start(_notifier, wake_reader), wake_writer)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_run_engine(config, procs, children, notifier, accepted))
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(timeout=10)


async def _run_engine(
    config: Config,
    procs: list[multiprocessing.process.BaseProcess],
    children: list[Starter],
    notifier: tuple[Starter, Connection] | None,
    accepted: Connection,
) -> None:
    """The engine, and the supervision of the other processes (`procs`, each restarted by the
    starter at its index in `children`). The notifier process starts once the schema is there.
    A byte on `accepted` (a worker accepted due messages) wakes the dispatcher: idle, it waits
    for that rather than looking every `dispatcher.poll`."""
    from .app import build_node, enabled_dialects

    stop = _stop_on_signals()
    loop = asyncio.get_running_loop()
    store = _process_store(config)
    await store.open()  # at this code's schema: `serve` checked it (and migrated if told to)
    engine = build_node(
        config,
        enabled_dialects(config),
        store=store,
        callbacks=ENGINE_CALLBACKS if notifier else None,
        on_change=_Waker(notifier[1]) if notifier else None,  # queued callbacks: tell it
    ).engine
    assert engine is not None  # built with run_engine
    await engine.start()
    _freeze_heap()
    fd = accepted.fileno()
    os.set_blocking(fd, False)
    loop.add_reader(fd, _woken, fd, engine.dispatcher.wakeup)
    if notifier is not None:
        children.append(notifier[0])
        procs.append(notifier[0]())
    log.info("engine running (event loop: %s)", type(loop).__module__.split(".")[0])
    try:
        while not stop.is_set():
            await wait_set(stop, 1.0)
            for i, proc in enumerate(procs):
                if not proc.is_alive() and not stop.is_set():
                    log.warning("process %s exited with %s; restarting", proc.pid, proc.exitcode)
                    procs[i] = children[i]()
    finally:
        loop.remove_reader(fd)
        await engine.stop()
        await store.close()


async def _run_notifier(config: Config, wake: Connection) -> None:
    from .app import build_notifier, callback_policies, enabled_dialects
    from .engine.notifier import HttpSender

    stop = _stop_on_signals()
    loop = asyncio.get_running_loop()
    store = _process_store(config, notifier=True)
    await store.open()
    sender = HttpSender(timeout=config.notifier.timeout, allowed=config.callbacks.networks())
    policies = callback_policies(enabled_dialects(config), config.notifier.delay_scale, config.smpp)
    notifier = build_notifier(config, store, policies, sender, NOTIFIER_CALLBACKS)
    fd = wake.fileno()
    os.set_blocking(fd, False)
    loop.add_reader(fd, _woken, fd, notifier.wakeup)
    _freeze_heap()
    task = asyncio.create_task(notifier.run(), name="notifier")
    log.info("notifier running (pid %d)", os.getpid())
    try:
        await stop.wait()
    finally:
        loop.remove_reader(fd)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await notifier.drain()
        await sender.close()
        await store.close()


def _process_store(config: Config, *, notifier: bool = False) -> Store:
    """The store of the engine process, or of the notifier process. Only the notifier's
    commits all go unflushed (Config.notifier_store_options: leases and marks, a callback sent
    once more at worst); the engine's receipts and incoming SMS, which a power cut must not
    lose, are flushed (its claims and connector marks are covered by that: Writer.run)."""
    from .store import open_store

    if notifier:
        return open_store(config.database, **config.notifier_store_options())
    # It serves no HTTP (the workers do): its claims and receipt batches commit on its loop,
    # not on the writer thread, whose every hand-over woke the loop through its self-pipe.
    return open_store(config.database, **config.store_options(), heavy_on_loop=True)


YOUNG_OBJECTS = 20_000  # new objects (less those gone) before a young collection


def _freeze_heap() -> None:
    """Out of the cyclic collector's sight: what a process built to serve (modules, classes,
    the app, the engine: some 44,000-49,000 objects), which lives as long as it does. Every
    full collection walked all of it and stopped the process meanwhile, in the middle of the
    requests in flight: about 30 ms of CPU each in workers and the engine under live single
    sends, against 0.1-0.2 ms frozen (gc.callbacks, thread CPU time, load 9-11). What is
    garbage already is collected first, so that none is kept.

    Then young collections come after YOUNG_OBJECTS new objects rather than CPython's 700.
    Under the full loop every process ran one every few milliseconds (100-250 in 2 s each,
    0.2-0.3 ms of CPU apiece, 5-6% of each process) and none of them freed anything: the
    requests' and claims' objects go with their reference counts, and what waits longer
    (a claim's rows, the messages of a commit group) was walked again and again. The count
    is of objects made less objects gone, so with room for a claim's or a group's worth
    they come seldom; cyclic garbage waits at most that many objects."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])


def _cpu_list(cpus: frozenset[int]) -> str:
    return ",".join(str(cpu) for cpu in sorted(cpus))


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


WAKE_SPACING = 0.005  # seconds: one wake-up of another process at most this often


class _Waker:
    """Tells another process of new work (the notifier process: callbacks were queued; the
    engine: a worker accepted due messages): a byte down a pipe. A full pipe (the reader is
    busy, or restarting) already says so.

    At once when none was sent in the last WAKE_SPACING seconds; otherwise one more when that
    time is up, for all the asks meanwhile. Each byte was a syscall that woke the reader, and
    under load a wake-up came with every accepted request (workers) and every batch of
    receipts (engine): work the reader's loop finds anyway, since it looks again before it
    waits. The last ask is never dropped, so an idle reader hears of it within the spacing."""

    def __init__(self, wake: Connection, spacing: float = WAKE_SPACING) -> None:
        self._fd = wake.fileno()
        os.set_blocking(self._fd, False)
        self._spacing = spacing
        self._last = -spacing
        self._pending: asyncio.TimerHandle | None = None

    def __call__(self) -> None:
        if self._pending is not None:
            return  # one is due: it covers this ask
        loop = asyncio.get_running_loop()
        wait = self._last + self._spacing - loop.time()
        if wait <= 0:
            self._send(loop)
        else:
            self._pending = loop.call_later(wait, self._send, loop)

    def _send(self, loop: asyncio.AbstractEventLoop) -> None:
        self._pending = None
        self._last = loop.time()
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            os.write(self._fd, b"!")


def _woken(fd: int, wakeup: asyncio.Event) -> None:
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 4096):
            pass
    wakeup.set()


def prepare_multiprocess_metrics(workers: int) -> None:
    """Before prometheus_client is imported: let worker processes share metrics through files."""
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="smsgate-metrics-")
    if "prometheus_client" in sys.modules and workers > 1:
        log.debug("prometheus_client imported before multiprocess set-up")
