"""`smsgate serve`: N HTTP worker processes on one socket, and one engine.

With one worker the engine runs in the same process. With more, the parent process runs the
engine (dispatcher, connector, notifier) and supervises the workers, which only accept and
read. On SQLite that makes dispatching exactly-once by construction: one engine per database
file, held by an flock; a second one refuses to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

import msgspec
import uvicorn

from .config import Config

log = logging.getLogger("smsgate.server")


def _uvicorn_config(config: Config, app: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=config.log_level,
        lifespan="on",
        server_header=False,
        timeout_keep_alive=30,
        backlog=4096,
        **proxy_options(config),
    )


def proxy_options(config: Config) -> dict[str, Any]:
    """Forwarded headers only from the proxies configured (uvicorn would trust 127.0.0.1)."""
    if not config.forwarded_allow_ips.strip():
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": config.forwarded_allow_ips}


def serve(config: Config) -> None:
    workers = config.worker_count()
    if workers <= 1:
        from .app import build_app

        uvicorn.Server(_uvicorn_config(config, build_app(config, run_engine=True))).run()
        return
    _supervise(config, workers)


def _bind(config: Config) -> socket.socket:
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    sock.listen(4096)
    sock.set_inheritable(True)
    return sock


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


def _worker(raw_config: bytes, sock: socket.socket) -> None:
    _die_with_parent()
    from .app import build_app
    from .logs import setup

    config = msgspec.json.decode(raw_config, type=Config)
    setup(config.log_level)
    server = uvicorn.Server(_uvicorn_config(config, build_app(config, run_engine=False)))
    server.run(sockets=[sock])


def _supervise(config: Config, workers: int) -> None:
    sock = _bind(config)
    ctx = multiprocessing.get_context("spawn")
    raw = msgspec.json.encode(config)
    procs: list[multiprocessing.process.BaseProcess] = []

    def start_worker() -> multiprocessing.process.BaseProcess:
        proc = ctx.Process(target=_worker, args=(raw, sock), daemon=False)
        proc.start()
        return proc

    procs = [start_worker() for _ in range(workers)]
    log.info("serving on http://%s:%d with %d workers", config.host, config.port, workers)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_run_engine(config, procs, start_worker))
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(timeout=10)
        sock.close()


async def _run_engine(config: Config, procs: list[Any], start_worker: Any) -> None:
    from .dialects import available
    from .engine.runtime import Engine
    from .store import open_store

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    store = open_store(config.database, synchronous=config.sqlite_synchronous)
    await store.open()
    await store.migrate()
    engine = Engine(config, store, available())
    await engine.start()
    log.info("engine running (event loop: %s)", type(loop).__module__.split(".")[0])
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            for i, proc in enumerate(procs):
                if not proc.is_alive() and not stop.is_set():
                    log.warning("worker %s exited with %s; restarting", proc.pid, proc.exitcode)
                    procs[i] = start_worker()
    finally:
        await engine.stop()
        await store.close()


def prepare_multiprocess_metrics(workers: int) -> None:
    """Before prometheus_client is imported: let worker processes share metrics through files."""
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="smsgate-metrics-")
    if "prometheus_client" in sys.modules and workers > 1:
        log.debug("prometheus_client imported before multiprocess set-up")
