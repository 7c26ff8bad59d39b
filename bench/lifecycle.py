"""Every row of issue 18's tables beside its baseline, with the issue's bar: one command.

    python -m bench.lifecycle [--quick] [--only ROW ...] [--seconds 10] [--pairs 2] [--soak]

Rows (names for --only), each from the bench that measures it, imported or run as it is:

  sqlite   single sends on SQLite at 1 and 2 workers: the bare Starlette route, smsgate's
           accept path alone and live (with the seconds until every message was final), wrk
           c=64, alternated pair by pair (bench/http_bench.py). Bar: live at 2 workers
           >= 0.45x bare.
  p99      live at 2 workers, c=32, wrk --latency, beside the bare route at c=32. Bar: < 10 ms.
  kannel   Kannel 1.4.5 sendsms into fakesmsc, memory queue, wrk c=64 (bench/kannel_bench.py),
           alternated with the bare route at 2 workers; with `sqlite`, smsgate live against it.
  bulk     a 50,000-recipient bulk on SQLite beside the bare decode-only route
           (bench/bulk_bench.py). Bar: <= 0.25 s.
  bulk-pg  the same on PostgreSQL. Bar: <= 0.4 s.
  pg       PostgreSQL at 2 workers, alternated with the bare route (bench/pg_bench.py): accept
           path alone with one account and with 50 (>= 0.5x bare), accept at 1 worker, live
           (>= 0.3x bare); two nodes on one database and one account against one (>= 1.0x).
           Each run's schema first holds --pg-history delivered messages (200,000), analyzed:
           a database in service. On a schema seconds old, PostgreSQL keeps the plans it made
           for an empty `messages` (sequential scans) until its first autoanalyze, a cost a
           server pays in its first minute only (docs/operations.md).
  loop     the full loop into the npm SMSC (bench/smpp_bench.py --wrk): Kannel with DLRs to
           dlr-url against smsgate e2e with two callbacks a message, both driven by wrk
           (>= 2x Kannel and >= 6,000 msg/s); Kannel without DLRs, smsgate's SMPP path and e2e
           with the final callback only beside them.
  idle     an idle server on SQLite, 2 workers (bench/idle_bench.py). Bar: <= 1 % of a core.
  idle-pg  the same on PostgreSQL (with its commits a second).

`--soak` (or `--only soak`) adds `python -m bench.soak`, the 1,000,000-message memory soak
(`--soak-messages` for fewer), after the rows.
`--quick` makes every run short (a smoke check: its verdicts say little). Every row group runs
in turn; one that fails prints ERROR and the others still run. The machine is shared: read the
ranges, and the CPU per message, which neighbours disturb less than the rates.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from bench import idle_bench, kannel_bench, pg_bench
from bench.common import ROOT, alternate, spread
from bench.http_bench import Run, run_bare, run_smsgate
from tests.support.servers import free_port

PY = sys.executable
ROWS = ["sqlite", "p99", "kannel", "bulk", "bulk-pg", "pg", "loop", "idle", "idle-pg"]
PG = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class Line:
    """One row of the table: what was measured, its baseline, their ratio, the issue's bar."""

    what: str
    got: str
    baseline: str = ""
    ratio: float | None = None
    bar: str = ""
    ok: bool | None = None  # None: no bar on this row
    note: str = ""

    def verdict(self) -> str:
        return "" if self.ok is None else ("PASS" if self.ok else "FAIL")

    def show(self) -> str:
        ratio = f"{self.ratio:.2f}x" if self.ratio is not None else ""
        row = (
            f"{self.what:<48} {self.got:>30}  {self.baseline:<42} {ratio:>6}"
            f"  {self.bar:<18} {self.verdict()}"
        )
        return row.rstrip() + (f"\n{'':<50}{self.note}" if self.note else "")


@dataclass
class Settings:
    seconds: int
    pairs: int
    quick: bool
    pg: str
    pg_history: int = 200_000  # delivered messages stored before a PostgreSQL run serves
    soak_messages: int | None = None
    shared: dict[str, list[float]] = field(default_factory=dict)  # figures rows reuse


def _rates(runs: list[Run]) -> list[float]:
    return [r.rate for r in runs]


def _cpu(runs: list[Run]) -> float:
    return statistics.median(r.cpu_us for r in runs)


def _ratio(got: list[float], base: list[float]) -> float:
    return statistics.median(got) / statistics.median(base)


def sqlite_rows(s: Settings) -> list[Line]:
    lines = []
    for workers in (1, 2):
        runs = alternate(
            s.pairs,
            {
                "bare": partial(run_bare, workers, free_port(), s.seconds, 64),
                "accept": partial(run_smsgate, workers, free_port(), s.seconds, 64, "accept"),
                "live": partial(run_smsgate, workers, free_port(), s.seconds, 64, "live"),
            },
        )
        bare, accept, live = _rates(runs["bare"]), _rates(runs["accept"]), _rates(runs["live"])
        s.shared[f"bare{workers}"], s.shared[f"live{workers}"] = bare, live
        who = f"{workers} worker{'s' if workers > 1 else ''}"
        base = f"bare {spread(bare)}"
        drains = max(r.drain or 0.0 for r in runs["live"])
        lines += [
            Line(
                f"SQLite bare route, {who}", f"{spread(bare)} req/s", note=_cpu_note(runs["bare"])
            ),
            Line(
                f"SQLite accept path alone, {who}",
                f"{spread(accept)} req/s",
                base,
                _ratio(accept, bare),
                note=_cpu_note(runs["accept"], runs["bare"]),
            ),
            Line(
                f"SQLite live, {who}",
                f"{spread(live)} req/s",
                base,
                _ratio(live, bare),
                ">= 0.45x bare" if workers == 2 else "",
                _ratio(live, bare) >= 0.45 if workers == 2 else None,
                f"{_cpu_note(runs['live'], runs['bare'])}; every message final"
                f" {drains:.1f} s after wrk at most",
            ),
        ]
    return lines


def _cpu_note(runs: list[Run], bare: list[Run] | None = None) -> str:
    beside = f" (bare {_cpu(bare):.0f})" if bare else ""
    return f"CPU {_cpu(runs):.0f} µs/request{beside}"


def p99_rows(s: Settings) -> list[Line]:
    runs = alternate(
        s.pairs,
        {
            "bare": partial(run_bare, 2, free_port(), s.seconds, 32, latency=True),
            "live": partial(run_smsgate, 2, free_port(), s.seconds, 32, "live", latency=True),
        },
    )
    p99 = [r.p99_ms or 0.0 for r in runs["live"]]
    bare = [r.p99_ms or 0.0 for r in runs["bare"]]
    return [
        Line(
            "SQLite live p99 latency, 2 workers, c=32",
            f"{spread(p99, '.1f')} ms",
            f"bare {spread(bare, '.1f')} ms",
            bar="< 10 ms",
            ok=statistics.median(p99) < 10,
            note=f"at {spread(_rates(runs['live']))} req/s (bare {spread(_rates(runs['bare']))})",
        )
    ]


def kannel_rows(s: Settings) -> list[Line]:
    if why := kannel_bench.missing():
        raise RuntimeError(why)
    runners: dict[str, Callable[[], Run | kannel_bench.KannelRun]] = {
        "bare": partial(run_bare, 2, free_port(), s.seconds, 64),
        "kannel": partial(kannel_bench.one_run, s.seconds),
    }
    runs = alternate(s.pairs, runners)
    kannel, bare = [r.rate for r in runs["kannel"]], [r.rate for r in runs["bare"]]
    lines = [
        Line(
            "Kannel 1.4.5 sendsms -> fakesmsc, memory queue",
            f"{spread(kannel)} req/s",
            f"bare 2 workers {spread(bare)}",
            _ratio(kannel, bare),
            note=f"CPU {statistics.median(r.cpu_us for r in runs['kannel']):.0f} µs/message;"
            f" fakesmsc had every message {max(r.drain or 0.0 for r in runs['kannel']):.1f} s after"
            " wrk at most",
        )
    ]
    if "live2" in s.shared:  # each against the bare route of its own runs: noise drifts
        live = _ratio(s.shared["live2"], s.shared["bare2"])
        lines.append(
            Line(
                "smsgate live, 2 workers, against Kannel",
                f"{live:.2f}x bare",
                f"Kannel {_ratio(kannel, bare):.2f}x bare",
                live / _ratio(kannel, bare),
                "goal >= 1.0x",
            )
        )
    return lines


def _bulk_run(s: Settings, database: list[str]) -> tuple[list[float], list[float], str]:
    """bench/bulk_bench.py as it is: smsgate's times and the bare route's, in seconds, and its
    summary line (with the CPU a message, where it prints that)."""
    recipients, runs = (5_000, 1) if s.quick else (50_000, 3)
    command = [PY, "-m", "bench.bulk_bench", "--recipients", str(recipients)]
    out = _stream([*command, "--runs", str(runs), "--port", str(free_port()), *database])
    smsgate = [float(t) for t in re.findall(r"accepted and committed in ([\d.]+) s", out)]
    bare = re.search(r"bare decode-only route.*\(([\d., ]+)\)", out)
    if not smsgate or not bare:
        raise RuntimeError("bulk_bench printed no times")
    summary = re.search(r"^smsgate bulk.*$", out, re.MULTILINE)
    return smsgate, [float(t) for t in bare.group(1).split(",")], summary[0] if summary else ""


def _bulk_line(s: Settings, name: str, database: list[str], bar: float) -> Line:
    smsgate, bare, summary = _bulk_run(s, database)
    n = "5,000" if s.quick else "50,000"
    return Line(
        f"{n}-recipient bulk, {name}",
        f"{spread(smsgate, '.3f')} s",
        f"bare decode-only {spread(bare, '.3f')} s",
        _ratio(smsgate, bare),
        f"<= {bar} s",
        statistics.median(smsgate) <= bar,
        summary,
    )


def bulk_rows(s: Settings) -> list[Line]:
    return [_bulk_line(s, "SQLite", [], 0.25)]


def bulk_pg_rows(s: Settings) -> list[Line]:
    # bulk_bench makes a schema of its own on the server at --pg
    return [_bulk_line(s, "PostgreSQL", ["--database", "postgres", "--pg", s.pg], 0.4)]


def pg_rows(s: Settings) -> list[Line]:
    def pg(run: str) -> Callable[[], pg_bench.Result]:
        return lambda: asyncio.run(
            pg_bench.one_run(s.pg, str(ROOT), run, s.seconds, False, s.pg_history)
        )

    def bare() -> pg_bench.Result:
        r = run_bare(2, free_port(), s.seconds, 64)
        return pg_bench.Result(r.rate, r.cpu_us, 0.0, collections.Counter())

    names = ("accept:2", "many:2", "accept:1", "live:2", "nodes:1", "nodes:2")
    runs = alternate(s.pairs, {"bare": bare, **{name: pg(name) for name in names}})
    got = {name: [r.rate for r in rs] for name, rs in runs.items()}

    def line(what: str, name: str, bar: float | None, base: str = "bare") -> Line:
        ratio = _ratio(got[name], got[base])
        label = "one node" if base == "nodes:1" else "bare"
        smsgate = statistics.median(r.cpu_us for r in runs[name])
        backends = statistics.median(r.pg_us for r in runs[name])
        return Line(
            what,
            f"{spread(got[name])} req/s",
            f"{label} {spread(got[base])}",
            ratio,
            f">= {bar}x {label}" if bar is not None else "",
            ratio >= bar if bar is not None else None,
            f"CPU µs/request: smsgate {smsgate:.0f}, PostgreSQL backends {backends:.0f};"
            f" {s.pg_history:,} messages stored before",
        )

    return [
        line("PostgreSQL accept path alone, 2 workers", "accept:2", 0.5),
        line("PostgreSQL accept, 2 workers, 50 accounts", "many:2", 0.5),
        line("PostgreSQL accept, 1 worker", "accept:1", None),
        line("PostgreSQL live, 2 workers", "live:2", 0.3),
        line("PostgreSQL one node, one account (live)", "nodes:1", None),
        line("PostgreSQL two nodes, one database, one account", "nodes:2", 1.0, "nodes:1"),
    ]


LOOP = {  # smpp_bench's names, and ours
    "kannel->npm": "Kannel -> npm SMSC, DLR to dlr-url (wrk)",
    "smsgate e2e": "smsgate e2e, two callbacks a message (wrk)",
    "smsgate e2e, final callback only": "smsgate e2e, final callback only (wrk)",
    "kannel->npm, no DLR": "Kannel -> npm SMSC, no DLR (wrk)",
    "smsgate smpp path": "smsgate SMPP path, no callbacks (bulk requests)",
}


def loop_rows(s: Settings) -> list[Line]:
    messages = 2_000 if s.quick else 20_000
    got: dict[str, list[float]] = {name: [] for name in LOOP}
    for _ in range(s.pairs):
        command = [PY, "-m", "bench.smpp_bench", "--messages", str(messages)]
        out = _stream([*command, "--wrk", str(s.seconds), "--only", *LOOP])
        for name, rate in re.findall(r"^\| (.+?) \| ([\d,]+) \|$", out, re.MULTILINE):
            if name in got:
                got[name].append(float(rate.replace(",", "")))
    kannel, e2e = got["kannel->npm"], got["smsgate e2e"]
    bare_mt = got["kannel->npm, no DLR"]
    ok = _ratio(e2e, kannel) >= 2.0 and statistics.median(e2e) >= 6000

    def line(
        name: str, base: list[float] | None = None, bar: str = "", ok: bool | None = None
    ) -> Line:
        label = "Kannel, no DLR" if base is bare_mt else "Kannel, DLR"
        return Line(
            LOOP[name],
            f"{spread(got[name])} msg/s",
            f"{label} {spread(base)}" if base else "",
            _ratio(got[name], base) if base else None,
            bar,
            ok,
        )

    return [
        line("kannel->npm"),
        line("smsgate e2e", kannel, bar=">= 2x and >= 6,000", ok=ok),
        line("smsgate e2e, final callback only", kannel),
        line("kannel->npm, no DLR"),
        line("smsgate smpp path", bare_mt),
    ]


def _idle_line(s: Settings, database: str) -> Line:
    seconds = 2.0 if s.quick else float(s.seconds)
    runs = [
        asyncio.run(idle_bench.one_run(str(ROOT), database, 2, seconds)) for _ in range(s.pairs)
    ]
    shares = [share * 100 for share, _ in runs]
    commits = f"; {spread([c for _, c in runs], '.1f')} commits/s" if database == "postgres" else ""
    return Line(
        f"Idle server, 2 workers, {'PostgreSQL' if database == 'postgres' else 'SQLite'}",
        f"{spread(shares, '.2f')} % of a core",
        bar="<= 1 %",
        ok=statistics.median(shares) <= 1.0,
        note=f"measured for {seconds:.0f} s{commits}",
    )


def idle_rows(s: Settings) -> list[Line]:
    return [_idle_line(s, "sqlite")]


def idle_pg_rows(s: Settings) -> list[Line]:
    return [_idle_line(s, "postgres")]


SOAK_EXIT = {0: "memory flat, every check held", 1: "a check failed", 2: "memory not flat"}


def soak_rows(s: Settings) -> list[Line]:
    if not (ROOT / "bench" / "soak.py").exists():
        return [Line("Memory soak (bench/soak.py)", "not run: bench/soak.py is not here yet")]
    count = s.soak_messages or (20_000 if s.quick else None)
    command = [PY, "-m", "bench.soak", *(["--messages", str(count)] if count else [])]
    out, code = _run(command)
    memory = re.findall(r"^\s*(memory\b.*)$", out, re.MULTILINE)
    return [
        Line(
            "Memory soak, RSS of every process (bench/soak.py)",
            SOAK_EXIT.get(code, f"exited {code}"),
            "its first sample after warm-up",
            bar="+-10 %, all final",
            ok=code == 0,
            note=memory[-1] if memory else "",
        )
    ]


def _run(command: list[str]) -> tuple[str, int]:
    """Run a bench as it is, its lines shown indented as they come: (its output, exit code)."""
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        print(f"    | {line}", end="", flush=True)
    return "".join(lines), proc.wait()


def _stream(command: list[str]) -> str:
    out, code = _run(command)
    if code:
        raise RuntimeError(f"{' '.join(command[1:4])} exited {code}")
    return out


GROUPS: dict[str, Callable[[Settings], list[Line]]] = {
    "sqlite": sqlite_rows,
    "p99": p99_rows,
    "kannel": kannel_rows,
    "bulk": bulk_rows,
    "bulk-pg": bulk_pg_rows,
    "pg": pg_rows,
    "loop": loop_rows,
    "idle": idle_rows,
    "idle-pg": idle_pg_rows,
    "soak": soak_rows,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.lifecycle",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke check")
    parser.add_argument(
        "--only", nargs="+", choices=[*ROWS, "soak"], metavar="ROW", help="these rows only"
    )
    parser.add_argument("--seconds", type=int, help="wrk's seconds a run (10; --quick: 2)")
    parser.add_argument("--pairs", type=int, help="runs of each side (2; --quick: 1)")
    parser.add_argument("--pg", default=PG, help="PostgreSQL server URL (trust auth)")
    parser.add_argument(
        "--pg-history",
        type=int,
        default=200_000,
        help="delivered messages stored (and analyzed) before each PostgreSQL run serves:"
        " a database in service (0: a fresh schema; --quick: 0)",
    )
    parser.add_argument("--soak", action="store_true", help="then run bench/soak.py")
    parser.add_argument("--soak-messages", type=int, help="messages of the soak (its default)")
    return parser


def main() -> None:
    args = _parser().parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian package wrk: make peers)")
    s = Settings(
        seconds=args.seconds or (2 if args.quick else 10),
        pairs=args.pairs or (1 if args.quick else 2),
        quick=args.quick,
        pg=args.pg,
        pg_history=0 if args.quick else args.pg_history,
        soak_messages=args.soak_messages,
    )
    print(
        f"bench.lifecycle: {s.pairs} run(s) a side, {s.seconds} s each"
        f"{' (quick: a smoke check, its verdicts say little)' if s.quick else ''}; started"
        f" {time.strftime('%H:%M:%S')}",
        flush=True,
    )
    done: list[Line] = []
    errors = 0
    names = [*(args.only or ROWS), *(["soak"] if args.soak else [])]
    for name in dict.fromkeys(names):  # each once, in the order given
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            lines = GROUPS[name](s)
        except Exception as error:  # one row's failure leaves the others to run
            errors += 1
            lines = [Line(f"{name}: ERROR", f"{type(error).__name__}: {error}"[:200])]
        for line in lines:
            print(line.show(), flush=True)
        print(f"   ({name}: {time.monotonic() - started:.0f} s)", flush=True)
        done += lines
    print("\n== every row\n" + "\n".join(line.show() for line in done))
    verdicts = [line.verdict() for line in done if line.verdict()]
    print(f"\n{verdicts.count('PASS')} PASS, {verdicts.count('FAIL')} FAIL, {errors} ERROR")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
