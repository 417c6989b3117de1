"""Fleet impact benchmarks: printed figures, not timed tests.

1. Stuck-state analysis of a synthetic fleet (`--devices`, default 1,000,000; the issue's national
   figure is 35,000,000: `python bench/impact.py --devices 35000000 --skip-replay`), under baseline
   and mp107: generation, loading with every row checked, and the analysis, timed apart, with peak
   memory (resident set of this process, which is DuckDB's too).
2. Log replay: the same random requests over the same random world (bench/validate.py's generators)
   judged by the generated Python validator (one core) and by DuckDB, with one thread and with every
   core, judging only (loading timed apart); the ratio is quoted. Each verdict is also compared with
   the interpreter's on the first `--check` requests, so the figures are of a query that agrees.

   With `--spark`, the stuck-state analysis is run again with Spark judging the candidate corrections
   (`redline impact fleet --engine spark`), and the same requests are judged on Spark in local mode too;
   each Spark figure is printed with its session start, first run (JIT warm-up) and second run.
3. End to end (`--end-to-end N`, e.g. 100,000,000): a synthetic fleet of `--devices` and an N-request log
   generated in DuckDB and written as Parquet, then replayed as `redline impact replay` does it (load and
   check every row, judge under baseline and mp107, the summaries, the changes, and, timed apart, the
   semantic diff and the tying of each changed request to its region) in a file-backed DuckDB under
   `--memory-limit` (default 8GB here), which spills to disk rather than fail; phase times, requests/s
   and the peak resident set. Only counts and examples reach Python.

    PYTHONPATH=src .venv/bin/python bench/impact.py [--devices N] [--replay-requests N] [--memory-limit 4GB] [--spark]
    PYTHONPATH=src .venv/bin/python bench/impact.py --end-to-end 100000000 [--work-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from redline.check.checked import Program, carrying_srvs
from redline.impact.fleet import analyse
from redline.impact.fromjson import write_requests, write_state
from redline.impact.params import FleetParams
from redline.impact.regions import tie
from redline.impact.replay import CHANGED, changes, judge, summary
from redline.impact.synth import generate, write
from redline.impact.tables import Loader
from redline.loading import load_program, repo_rules
from redline.times import parse_iso

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))
import validate as bench_validate  # noqa: E402  (bench/validate.py)

from impact_support import disagreements  # noqa: E402  (tests/impact_support.py)


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024)


def connect(tmp: Path, memory_limit: str | None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp / "impact.duckdb"))
    con.execute(f"SET temp_directory = '{tmp / 'spill'}'")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {threads}")
    return con


def load() -> str:
    """The machine's load average over the last minute (the figures of a shared machine need it)."""
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def clocks() -> tuple[float, float]:
    """Wall-clock and CPU seconds (every thread of this process, so DuckDB's too)."""
    return time.perf_counter(), time.process_time()


def fleet_once(program: Program, devices: int, memory_limit: str | None,
               fleet_dir: Path | None) -> tuple[dict[str, tuple[float, float]], dict[str, Any]]:
    """One run as `redline impact generate` then `redline impact fleet` do it: the synthetic fleet written to
    Parquet, then read from those files, every row checked, and analysed (generation timed apart). With
    `fleet_dir`, the files are kept there and reused by later runs (generation then takes no time)."""
    rulesets = [program.rulesets["baseline"], program.rulesets["mp107"]]
    params = FleetParams(devices=devices)
    phases: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = fleet_dir or Path(tmp) / "fleet"
        con = connect(Path(tmp), memory_limit)

        def generated() -> None:
            if not (files / "devices.parquet").is_file():
                generate(con, params, program.cells(), carrying_srvs(program.rulesets["baseline"].catalogue))
                write(con, files, with_requests=False)
            con.close()
        result: Any = None
        w0, c0 = clocks()
        generated()
        w1, c1 = clocks()
        phases["generate"] = (w1 - w0, c1 - c0)
        (Path(tmp) / "impact.duckdb").unlink()
        con = connect(Path(tmp), memory_limit)
        steps = [("load and check", lambda: Loader(con, program, rulesets[0].catalogue).load_dir(files, with_requests=False)),
                 ("analyse", lambda: analyse(con, program, rulesets, parse_iso(params.at), visit_cost=100.0, frugal=True))]
        for name, step in steps:
            w0, c0 = clocks()
            result = step()
            w1, c1 = clocks()
            phases[name] = (w1 - w0, c1 - c0)
        con.close()
    return phases, result


def bench_fleet(program: Program, devices: int, memory_limit: str | None, runs: int, fleet_dir: Path | None,
                spark: bool) -> None:
    print(f"== stuck-state analysis: {devices:,} devices, baseline and mp107 (wrong NO share {FleetParams().wrong_no_share}), "
          f"median of {runs} ==")
    samples, result = [], None
    for i in range(runs):
        phases, result = fleet_once(program, devices, memory_limit, fleet_dir)
        samples.append(phases)
        answer = phases["load and check"][0] + phases["analyse"][0]
        print(f"  run {i + 1}: " + ", ".join(f"{k} {w:.1f} s ({c:.1f} s CPU)" for k, (w, c) in phases.items())
              + f"; tables to answer {answer:.1f} s; {load()}", flush=True)
    med = {k: (statistics.median(s[k][0] for s in samples), statistics.median(s[k][1] for s in samples)) for k in samples[0]}
    answer = med["load and check"][0] + med["analyse"][0]
    cpu = med["load and check"][1] + med["analyse"][1]
    print(f"  median: tables to answer {answer:.1f} s wall, {cpu:.1f} s CPU ({devices / answer:,.0f} devices/s; "
          f"{cpu / devices * 1e6:.2f} CPU µs per device); generate {med['generate'][0]:.1f} s; peak RSS {peak_gib():.2f} GiB")
    assert result is not None
    print(f"  mis-set {result['mis_set']:,}; stuck baseline {result['stuck']['baseline']['devices']:,}, "
          f"mp107 {result['stuck']['mp107']['devices']:,}; freed {result['freed']:,}")
    national = 35_000_000
    print(f"  at this rate {national:,} devices would take {national / devices * answer:.0f} s wall "
          f"({national / devices * cpu / (os.cpu_count() or 1):.0f} s if every core were this run's alone)")
    if spark:
        spark_fleet(program, devices, memory_limit, result, med["analyse"])


def jvm_cpu(session: Any) -> float:
    """CPU seconds of Spark's JVM so far (a child process: this process's clock does not count it)."""
    pid = session.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def spark_fleet(program: Program, devices: int, memory_limit: str | None, duck: Any, duck_analyse: tuple[float, float]) -> None:
    """The same analysis with Spark local[2] judging the candidate corrections (`--engine spark`): loading,
    checking and counting stay DuckDB's. Each run exports the tables it judges afresh, as the command does."""
    from redline.impact import spark as engine

    rulesets = [program.rulesets["baseline"], program.rulesets["mp107"]]
    params = FleetParams(devices=devices)
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(Path(tmp), memory_limit)
        generate(con, params, program.cells(), carrying_srvs(rulesets[0].catalogue))
        Loader(con, program, rulesets[0].catalogue).stage(with_requests=False)
        w0 = time.perf_counter()
        session = engine.session("local[2]")
        started = time.perf_counter() - w0
        runs, same = [], True
        for _ in range(2):
            (w0, c0), j0 = clocks(), jvm_cpu(session)
            with engine.judging("local[2]", Path(tmp)) as judging:
                result = analyse(con, program, rulesets, parse_iso(params.at), visit_cost=100.0, judging=judging)
            (w1, c1), j1 = clocks(), jvm_cpu(session)
            runs.append((w1 - w0, c1 - c0 + j1 - j0))
            same = same and result == duck
        session.stop()
        con.close()
    print(f"  Spark local[2] judging the candidates: session {started:.1f} s; analyse {runs[0][0]:.1f} s first, "
          f"{runs[1][0]:.1f} s second ({runs[1][1]:.1f} s CPU, the JVM's included), against DuckDB's "
          f"{duck_analyse[0]:.1f} s ({duck_analyse[1]:.1f} s CPU); the same answer as DuckDB: {'yes' if same else 'NO'}; {load()}")


def bench_replay(program: object, requests: int, check: int, spark: bool, runs: int) -> None:
    from redline.check.checked import Program
    assert isinstance(program, Program)
    rulesets = [program.rulesets["baseline"], program.rulesets["mp107"]]
    rng = random.Random(17)
    devices = max(1000, requests // 10)
    state, parties, sites = bench_validate.make_state(rng, bench_validate.Sizes(devices=devices, requests=requests))
    raw = bench_validate.make_requests(rng, requests, state, parties, sites, dict(rulesets[0].catalogue))
    print(f"== log replay: {requests:,} random requests over {len(state['devices']):,} devices ==")
    stamped = [(i, state["now"], r) for i, r in enumerate(raw)]
    bad = disagreements(program, rulesets, state, stamped[:check])
    print(f"  agreement with the interpreter on the first {min(check, requests):,} requests, both rule sets: "
          f"{'all agree' if not bad else f'{len(bad)} DISAGREE, e.g. {bad[0]}'}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        module = bench_validate.load_generated(program, "mp107", root)
        py_wall, py_cpu = generated_seconds(module, state, raw)
        print(f"  generated Python validator (mp107, one core): {requests / py_wall:,.0f} requests/s "
              f"({requests / py_cpu:,.0f} per CPU second); median of {bench_validate.RUNS}; {load()}")
        write_state(state, program, root)
        write_requests(stamped, program, root)
        for threads in (1, None):
            con = connect(root, None, threads)
            w0, _ = clocks()
            Loader(con, program, rulesets[0].catalogue).load_dir(root, with_requests=True)
            loading = clocks()[0] - w0
            judged = []
            for _ in range(runs):
                w0, c0 = clocks()
                judge(con, rulesets[1], program)
                w1, c1 = clocks()
                judged.append((w1 - w0, c1 - c0))
            wall, cpu = statistics.median(w for w, _ in judged), statistics.median(c for _, c in judged)
            first = judged[0][0]  # the only run that compiles the query (sql.verdict_sql remembers it)
            rate = requests / wall
            used = con.execute("SELECT current_setting('threads')").fetchone()
            label = "one thread" if threads == 1 else f"{used[0] if used else '?'} threads"
            print(f"  DuckDB ({label}): load and check {loading:.2f} s; judge (mp107) median {wall:.2f} s = {rate:,.0f} requests/s, "
                  f"{requests / wall / (requests / py_wall):.1f}x the generated validator "
                  f"({py_cpu / cpu:.1f}x per CPU second); the first run, compiling the query, {first:.2f} s = "
                  f"{requests / first / (requests / py_wall):.1f}x; with loading {requests / (loading + wall):,.0f} requests/s; {load()}")
            if threads is None and spark:
                bench_spark(program, con, root, requests, rate)
            con.close()
            (root / "impact.duckdb").unlink()


def generated_seconds(module: Any, state: dict[str, Any], raw: list[dict[str, Any]]) -> tuple[float, float]:
    """Median wall and CPU seconds of the generated validator judging every request (bench/validate.py's
    loop, each run on a freshly prepared state; the preparation is not timed, as DuckDB's loading is not)."""
    walls, cpus = [], []
    for _ in range(bench_validate.RUNS):
        prepared = module.prepare(state)
        validate_prepared = module.validate_prepared
        w0, c0 = clocks()
        for r in raw:
            validate_prepared(prepared, r)
        w1, c1 = clocks()
        walls.append(w1 - w0)
        cpus.append(c1 - c0)
    return statistics.median(walls), statistics.median(cpus)


def bench_spark(program: object, con: duckdb.DuckDBPyConnection, root: Path, requests: int, duck_rate: float) -> None:
    """The same judged requests on Spark in local mode, every core; the first run includes the JVM's warm-up."""
    from redline.check.checked import Program
    from redline.impact import spark as engine
    assert isinstance(program, Program)
    staged = root / "staged"
    engine.export(con, staged)
    from pyspark import SparkContext
    warm = SparkContext._gateway is not None  # the fleet bench's JVM is still up: this session start is not a JVM's
    t0 = time.perf_counter()
    session = engine.session("local[2]")
    t1 = time.perf_counter()
    runs = []
    for _ in range(2):
        start, jvm = time.perf_counter(), jvm_cpu(session)
        engine.judge(session, program, program.rulesets["mp107"], staged).write.format("noop").mode("overwrite").save()
        runs.append((time.perf_counter() - start, jvm_cpu(session) - jvm))
    session.stop()
    (first, _), (second, cpu) = runs
    print(f"  Spark local[2]: session {t1 - t0:.1f} s{' (JVM already up)' if warm else ''}; judge (mp107) {first:.2f} s first, {second:.2f} s second "
          f"({cpu:.1f} s JVM CPU) = {requests / second:,.0f} requests/s ({requests / second / duck_rate:.2f}x DuckDB); {load()}")


def bench_end_to_end(program: Program, requests: int, devices: int, memory_limit: str, work: str | None) -> None:
    from redline.props.diff import diff
    rulesets = [program.rulesets["baseline"], program.rulesets["mp107"]]
    params = FleetParams(devices=devices, requests=requests)
    print(f"== end to end: {requests:,} requests over {devices:,} devices, baseline and mp107, memory limit {memory_limit} ==")
    phases: dict[str, tuple[float, float]] = {}

    def timed(name: str, step: Any) -> Any:
        w0, c0 = clocks()
        out = step()
        w1, c1 = clocks()
        phases[name] = (w1 - w0, c1 - c0)
        print(f"  {name}: {w1 - w0:.1f} s ({c1 - c0:.1f} s CPU); peak RSS {peak_gib():.2f} GiB; {load()}", flush=True)
        return out

    with tempfile.TemporaryDirectory(dir=work) as tmp:
        root = Path(tmp)
        con = connect(root, memory_limit)
        timed("generate", lambda: generate(con, params, program.cells(), carrying_srvs(rulesets[0].catalogue)))
        timed("write Parquet", lambda: write(con, root / "fleet", with_requests=True))
        con.close()
        (root / "impact.duckdb").unlink()
        size = sum(f.stat().st_size for f in (root / "fleet").iterdir())
        print(f"  the fleet's Parquet files: {size / 2**20:,.0f} MiB")
        con = connect(root, memory_limit)
        timed("load and check", lambda: Loader(con, program, rulesets[0].catalogue).load_dir(root / "fleet", with_requests=True))
        tables = [timed(f"judge ({rs.name})", lambda rs=rs: judge(con, rs, program)) for rs in rulesets]
        summaries = timed("summaries", lambda: [summary(con, t) for t in tables])
        changed = timed("changes", lambda: changes(con, tables[0], tables[1], keep=True, cells=program.cells()))  # as run.py does
        replay = ("load and check", "judge (baseline)", "judge (mp107)", "summaries", "changes")
        wall, cpu = sum(phases[k][0] for k in replay), sum(phases[k][1] for k in replay)
        print(f"  replay (load to changes): {wall:.1f} s wall, {cpu:.1f} s CPU = {requests / wall:,.0f} requests/s "
              f"({requests / cpu:,.0f} per CPU second); accepted {summaries[0]['accepted']:,} / {summaries[1]['accepted']:,}; "
              f"changed {changed['changed']:,}")
        d = timed("semantic diff (solver)", lambda: diff(program, rulesets[0], rulesets[1], 10_000, 0))
        tied = timed("tie to regions", lambda: tie(con, program, rulesets[0], rulesets[1], tables[0], tables[1],
                                                   list(d.changes), d.complete, changed=CHANGED))
        print(f"  by region: {[r['requests'] for r in tied['regions']]}; outside every region "
              f"{tied['outside_every_region']['requests']:,}; in several {tied['in_several_regions']['requests']:,}")
        spilled = con.execute("SELECT coalesce(sum(size), 0) FROM duckdb_temporary_files()").fetchone()
        print(f"  peak RSS {peak_gib():.2f} GiB; DuckDB temporary files now {int(spilled[0] if spilled else 0) / 2**30:.2f} GiB")
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--replay-requests", type=int, default=200_000)
    parser.add_argument("--check", type=int, default=20_000, help="requests compared with the interpreter first")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory limit, e.g. 4GB (spills to disk beyond)")
    parser.add_argument("--runs", type=int, default=3, help="runs of the stuck-state analysis; the median is quoted")
    parser.add_argument("--fleet-dir", type=Path, help="keep the generated fleet here and reuse it (for --devices runs)")
    parser.add_argument("--skip-replay", action="store_true")
    parser.add_argument("--skip-fleet", action="store_true")
    parser.add_argument("--spark", action="store_true", help="also judge on Spark (local mode): the candidate corrections and the replayed requests")
    parser.add_argument("--end-to-end", type=int, default=0, metavar="N",
                        help="only: generate an N-request log and replay it end to end (file-backed, spilling)")
    parser.add_argument("--work-dir", default=None, help="where --end-to-end writes its files (default: the system's temp)")
    args = parser.parse_args()
    program, _ = load_program(repo_rules(), [])
    assert program is not None
    print(f"redline impact benchmark: DuckDB {duckdb.__version__}, Python {sys.version.split()[0]}; {load()}")
    if args.end_to_end:
        bench_end_to_end(program, args.end_to_end, args.devices, args.memory_limit or "8GB", args.work_dir)
        return 0
    if not args.skip_fleet:
        bench_fleet(program, args.devices, args.memory_limit, args.runs, args.fleet_dir, args.spark)
    if not args.skip_replay:
        bench_replay(program, args.replay_requests, args.check, args.spark, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
