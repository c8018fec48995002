"""The `certkeeper` command: serve, token create, rekey."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

from api.log_config import configure as configure_logging
from api.log_config import log_config
from api.settings import Settings
from lifecycle import tokens
from lifecycle.bootstrap import open_data_dir
from lifecycle.core import SYSTEM, Core
from lifecycle.errors import CertkeeperError
from lifecycle.rekey import rekey
from lifecycle.vocabulary import Role

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from lifecycle.workers import WorkerPool


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="data directory (default ./data; CERTKEEPER_DATA_DIR)")
    p.add_argument("--database-url", help="sqlite:///... or postgresql+psycopg://... (CERTKEEPER_DATABASE_URL)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="certkeeper", description="Certificate lifecycle manager")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API")
    _common(serve)
    serve.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default 8200)")
    serve.add_argument("--public-url", help="base URL embedded in issued certificates")
    serve.add_argument("--workers", type=int, help="background worker threads per process (default 2; 0 runs none)")
    serve.add_argument("--processes", type=int,
                       help="server processes sharing the port, each with its own event loop (default 1)")
    worker = sub.add_parser("worker", help="run background workers and the scheduler, without the HTTP API")
    _common(worker)
    worker.add_argument("--threads", type=int, default=2, help="worker threads (default 2)")
    worker.add_argument("--public-url", help="base URL embedded in the certificates it issues "
                                             "(default: the one `serve` last used on this data dir)")
    token = sub.add_parser("token", help="manage API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="print a new API token")
    _common(create)
    create.add_argument("--role", required=True, help="Reader, SecretsReader, Writer or Manager")
    create.add_argument("--groups", help="comma-separated secret group ids the token is limited to")
    create.add_argument("--ttl", help="lifetime such as 30m, 24h, 90d (default: no expiry)")
    create.add_argument("--description")
    listing = token_sub.add_parser("list", help="list tokens: id, role, groups, created, expires, revoked, description")
    _common(listing)
    revoke = token_sub.add_parser("revoke", help="revoke a token (refused by every process within 5 s)")
    _common(revoke)
    revoke.add_argument("token", help="the token's id (as `token list` shows it) or the whole token")
    rk = sub.add_parser("rekey", help="rotate the root key (resumes an interrupted rotation)")
    _common(rk)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.load(
            data_dir=args.data_dir, database_url=args.database_url,
            host=getattr(args, "host", None), port=getattr(args, "port", None),
            public_url=getattr(args, "public_url", None), workers=getattr(args, "workers", None),
            processes=getattr(args, "processes", None),
        )
        if args.command == "serve":
            return _serve(settings)
        if args.command == "token":
            return _token(settings, args)
        if args.command == "worker":
            return _worker(settings, args.threads)
        return _rekey(settings)
    except (ValueError, CertkeeperError) as exc:
        print(f"certkeeper: {exc}", file=sys.stderr)
        return 2


# How `certkeeper serve` runs uvicorn (bench/ceiling_app.py serves the framework ceiling the
# same way). The asyncio event loop, not uvloop: a handler runs on the loop for a millisecond
# or more (an issuance ~2 ms), and under uvloop connections opened while it was busy waited
# behind the already active ones, up to a second (32 connections: p99 570 ms, p50 65 ms);
# asyncio serves them in turn (p99 79 ms) at the same throughput, and reads cost ~2% more.
SERVER_OPTIONS = {"loop": "asyncio", "http": "httptools"}


def _serve(settings: Settings) -> int:
    """One process, or with ``processes`` > 1 uvicorn's supervisor over that many server
    processes on one listening socket (it replaces one that dies). Each process has its own
    event loop, store connections, batches and caches, and runs its own ``workers``; they
    share the store as `certkeeper worker` processes do. The data dir is opened (created,
    migrated, the first admin token made) here, once, before any of them start.

    A server process that cannot start (its database gone, its data dir moved) exits with
    uvicorn's STARTUP_FAILURE; the supervisor then stops the others, and this returns 1 so
    that a service manager sees the failure and restarts with its own back-off."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    if not settings.public_url:
        settings = dataclasses.replace(settings, public_url=f"http://{settings.host}:{settings.port}")
    opened = open_data_dir(settings.data_dir, database_url=settings.database_url,
                           env_root_key=settings.root_key, create=True, public_url=settings.public_url)
    remember_public_url(settings)
    if opened.admin_token:
        print(f"First start: created the admin token (also in {settings.data_dir / 'admin-token'}, mode 0600):")
        print(opened.admin_token, flush=True)
    options = {"host": settings.host, "port": settings.port, "log_level": settings.log_level,
               "log_config": log_config(settings.log_level), **SERVER_OPTIONS}
    if settings.processes == 1:
        uvicorn.run(_app(settings, opened.core), **options)
        return 0
    opened.core.store.dispose()  # the supervisor serves nothing; its processes open their own
    settings.export()
    config = uvicorn.Config(f"{__name__}:process_app", factory=True, workers=settings.processes, **options)
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    failed = next((p.pid for p in supervisor.processes if p.exitcode == STARTUP_FAILURE), None)
    if failed is None:
        return 0
    print(f"certkeeper: server process {failed} could not start (its reason is logged above); stopped",
          file=sys.stderr, flush=True)
    return 1


def process_app() -> Starlette:
    """The app of one of `serve --processes N`'s processes, from the settings its supervisor
    put in the environment (uvicorn starts each by importing this factory). One that cannot
    open the store exits with STARTUP_FAILURE, which uvicorn's supervisor does not retry."""
    from uvicorn.config import STARTUP_FAILURE

    try:
        settings = Settings.load()
        opened = open_data_dir(settings.data_dir, database_url=settings.database_url,
                               env_root_key=settings.root_key, create=False, public_url=settings.public_url)
    except Exception as exc:  # any failure before serving: report it in one line, not a traceback
        print(f"certkeeper: server process {os.getpid()} cannot start: {exc}", file=sys.stderr, flush=True)
        sys.exit(STARTUP_FAILURE)
    return _app(settings, opened.core)


def _app(settings: Settings, core: Core) -> Starlette:
    from api.app import create_app

    core = dataclasses.replace(core, allow_private_webhooks=settings.allow_private_webhooks)
    app = create_app(core, workers=settings.workers, scheduler_interval=settings.scheduler_interval,
                     task_lease=timedelta(seconds=settings.task_lease))
    freeze_start_up_objects()
    return app


def _worker_pool(settings: Settings, core: Core, threads: int) -> WorkerPool:
    """The workers and scheduler of a `certkeeper worker` process, not yet started; as `_app`
    does for a server process, what start-up made is frozen."""
    from lifecycle import scheduler
    from lifecycle.background import background_handlers
    from lifecycle.workers import WorkerPool

    core = dataclasses.replace(core, allow_private_webhooks=settings.allow_private_webhooks)
    pool = WorkerPool(core, background_handlers(), threads=threads, tick=scheduler.tick,
                      tick_interval=settings.scheduler_interval, lease=timedelta(seconds=settings.task_lease))
    freeze_start_up_objects()
    return pool


def freeze_start_up_objects() -> None:
    """Keep what a serving process made while starting (modules, the app, the store's
    engine: ~125,000 objects) out of the garbage collector's full collections.

    A full collection walks every tracked object, ~80-120 ms here for a process that imported
    SQLAlchemy, alembic, cryptography and the CIS SDK, and runs every few thousand requests:
    each stalled every request in flight (p99 of issuance at 32 connections 120-155 ms; with
    the start-up objects frozen 55-70 ms, and ~10% less CPU per issuance, in interleaved runs).
    Frozen objects are never freed, which is what start-up objects are for anyway; what the
    process makes later is collected as before."""
    gc.collect()
    gc.freeze()


PUBLIC_URL_FILE = "public-url"  # in the data dir: the base URL `serve` embeds, for `worker` to embed too


def remember_public_url(settings: Settings) -> None:
    """Note the URL `serve` embeds in certificates in its data dir."""
    (settings.data_dir / PUBLIC_URL_FILE).write_text(f"{settings.public_url}\n")


def worker_settings(settings: Settings) -> Settings:
    """A worker embeds the URL it was given, else the one `serve` last used on its data dir:
    the certificates it renews name the same CRL and CA URLs as those the server issued."""
    noted = settings.data_dir / PUBLIC_URL_FILE
    if settings.public_url or not noted.is_file():
        return settings
    return dataclasses.replace(settings, public_url=noted.read_text().strip() or None)


def _worker(settings: Settings, threads: int) -> int:
    import signal
    import threading

    settings = worker_settings(settings)
    configure_logging(settings.log_level)
    opened = open_data_dir(settings.data_dir, database_url=settings.database_url, env_root_key=settings.root_key,
                           create=False, public_url=settings.public_url)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if settings.test_hook:
        _install_test_hook(settings.test_hook)
    pool = _worker_pool(settings, opened.core, threads)
    pool.start()
    print(f"certkeeper worker: {threads} thread(s) running; stop with SIGTERM", flush=True)
    stop.wait()
    pool.stop()
    return 0


def _install_test_hook(hook: str) -> None:
    """'pause-before-commit:<file>': write <file> and block inside the first batch of rotations' transaction."""
    import threading
    from pathlib import Path

    from lifecycle import scheduler

    kind, _, path = hook.partition(":")
    if kind != "pause-before-commit" or not path:
        raise ValueError(f"test_hook: unknown hook '{hook}'")

    def pause(claimed: object) -> None:
        Path(path).write_text("paused\n")
        threading.Event().wait()  # until the test kills this process

    scheduler.before_commit = pause


def _token(settings: Settings, args: argparse.Namespace) -> int:
    opened = open_data_dir(settings.data_dir, database_url=settings.database_url,
                           env_root_key=settings.root_key, create=False)
    if args.token_command == "list":
        for t in tokens.list_tokens(opened.core):
            when = [v.isoformat(timespec="seconds") if v else "-" for v in (t.created_at, t.expires_at, t.revoked_at)]
            print("\t".join([t.id, t.role, ",".join(t.groups or []) or "*", *when, t.description or ""]))
        return 0
    if args.token_command == "revoke":
        revoked = tokens.revoke(opened.core, SYSTEM, args.token)
        print(f"token {revoked.id} revoked at {revoked.revoked_at.isoformat(timespec='seconds') if revoked.revoked_at else '?'}")
        return 0
    groups = [g.strip() for g in args.groups.split(",") if g.strip()] if args.groups else None
    ttl = tokens.parse_duration(args.ttl) if args.ttl else None
    issued = tokens.issue(opened.core, SYSTEM, Role.parse(args.role), groups=groups, ttl=ttl,
                          description=args.description)
    print(issued.token)
    return 0


def _rekey(settings: Settings) -> int:
    if settings.root_key:
        raise ValueError("rekey works on key files in the data dir; unset CERTKEEPER_ROOT_KEY to use it")
    opened = open_data_dir(settings.data_dir, database_url=settings.database_url, env_root_key=None, create=False)
    report = rekey(settings.data_dir, opened.core.store)
    what = "new root key" if report.new_key else "resumed rotation to root key"
    print(f"{what} {report.active_key_id}: rewrapped {report.rewrapped} data key(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
