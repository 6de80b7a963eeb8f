#!/usr/bin/env python3
"""Summarizes a run of the ArenaBenchmarks target side by side, checks the count gates and
reports the performance targets of DESIGN.md and issues 2 and 3.

Input: the directory `swift package benchmark run --format histogramPercentiles --path DIR` wrote,
one TSV per benchmark and metric, named
    <baseline>.ArenaBenchmarks.<name>.<metric>.histogram.percentiles.tsv
with spaces in <name> turned into '_'. Names are "<workload> | <role> | <implementation>"
(see Benchmarks/ArenaBenchmarks/Harness.swift for the metrics).

Time is reported, never gated: the exit status is 1 only when a count gate fails (an allocation
on a zero-copy path, jemalloc called for small regions) or a benchmark is missing its data.

    summarize.py DIR            print the summary (and write DIR/summary.txt)
    summarize.py DIR DIR...     the same over several runs: each figure is the median of the runs'
                                medians (the worst batch of any run for the count gates), and the
                                echo targets list each run's ratio; summary.txt goes to the runs'
                                common parent directory
    summarize.py PARENT         a PARENT holding run-1, run-2, ... (Scripts/bench --runs N)
"""

import os
import re
import sys
from collections import defaultdict

TARGET = "ArenaBenchmarks"
SUFFIX = ".histogram.percentiles.tsv"
ROLE_ORDER = {"ours": 0, "ours+": 1, "peer": 2, "ref": 3}

# Workloads whose `ours`/`ours+` rows must allocate nothing: no heap byte on the measuring
# thread(s), no region from the arena, no jemalloc call on the arena.
ZERO_ALLOCATION_WORKLOADS = {"2a", "2b", "2c", "3", "6a", "6b", "7"}
# "well under 1" jemalloc call per small region: at most one per 20 regions, in every batch.
SMALL_REGION_JEMALLOC_CALLS_LIMIT = 0.05


# The unit ordo-one prints in a TSV header, "(K)" or "(μs)": what a value must be multiplied by
# to give a count or nanoseconds. The benchmarks ask for raw units (factor 1); anything else was
# rounded by the exporter and is flagged.
UNIT_FACTORS = {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "ns": 1, "μs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}
scaled_exports = []


def read_percentiles(path):
    values = {}
    factor = 1
    with open(path) as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 2 and fields[0] == "Percentile":
                match = re.search(r"\(([^()]+)\)\s*\*?\s*$", fields[1])
                if match and match.group(1) in UNIT_FACTORS:
                    factor = UNIT_FACTORS[match.group(1)]
                    if factor != 1:
                        scaled_exports.append(os.path.basename(path))
            elif len(fields) == 2 and fields[0].isdigit():
                values[int(fields[0])] = float(fields[1]) * factor
    return values


def load(directory):
    """{name: {metric: {percentile: value}}}"""
    results = defaultdict(dict)
    marker = "." + TARGET + "."
    for file in os.listdir(directory):
        if not file.endswith(SUFFIX) or marker not in file:
            continue
        stem = file[file.index(marker) + len(marker) : -len(SUFFIX)]
        name, _, metric = stem.rpartition(".")
        results[name.replace("_", " ")][metric] = read_percentiles(os.path.join(directory, file))
    return results


def combine(runs):
    """One {name: {metric: {percentile: value}}} from several runs' results: per percentile the
    median over the runs that have it, except percentile 100 (the worst batch), the maximum."""
    if len(runs) == 1:
        return runs[0]
    combined = defaultdict(dict)
    for name in sorted(set().union(*runs)):
        for metric in sorted(set().union(*(run.get(name, {}) for run in runs))):
            series = [run[name][metric] for run in runs if metric in run.get(name, {})]
            values = {}
            for percentile in sorted(set().union(*series)):
                found = sorted(histogram[percentile] for histogram in series if percentile in histogram)
                values[percentile] = found[-1] if percentile == 100 else median(found)
            combined[name][metric] = values
    return combined


def median(values):
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


class Row:
    def __init__(self, name, metrics):
        self.name = name
        parts = [part.strip() for part in name.split("|")]
        if len(parts) != 3:
            raise ValueError(f"benchmark name {name!r} is not '<workload> | <role> | <implementation>'")
        self.workload, self.role, self.implementation = parts
        self.workload_id = self.workload.split()[0]
        self.metrics = metrics
        self.ops = self.value("ops", 50) or 1
        self.wall = self.value("wallClock", 50)
        self.bytes = self.value("bytes", 50)

    def value(self, metric, percentile):
        return self.metrics.get(metric, {}).get(percentile)

    def per_op(self, metric, percentile):
        value = self.value(metric, percentile)
        return None if value is None else value / self.ops

    @property
    def ns_per_op(self):
        return None if self.wall is None else self.wall / self.ops

    @property
    def gigabytes_per_second(self):
        if self.bytes is None or not self.wall:
            return None
        return self.bytes / self.wall  # bytes per ns == GB/s

    def median_text(self):
        if self.ns_per_op is None:
            return "missing"
        if self.gigabytes_per_second is not None:
            return f"{self.gigabytes_per_second:6.2f} GB/s ({self.ns_per_op / 1e6:.1f} ms)"
        return f"{format_ns(self.ns_per_op)} ns/op"


def format_ns(value):
    if value >= 100:
        return f"{value:7.0f}"
    if value >= 10:
        return f"{value:7.1f}"
    return f"{value:7.2f}"


def format_count(value, digits=3):
    if value is None:
        return "-"
    if value == 0:
        return "0"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def format_bytes(value):
    if value is None:
        return "-"
    if value >= 1 << 20:
        return f"{value / (1 << 20):.1f} MiB"
    if value >= 10 << 10:
        return f"{value / (1 << 10):.1f} KiB"
    return format_count(value, 1)


def table(rows):
    by_workload = defaultdict(list)
    for row in rows:
        by_workload[row.workload].append(row)

    headers = ["workload", "implementation", "role", "median", "peer/ours", "heap B/op", "arena allocs/op",
               "jemalloc calls/op"]
    lines = []
    for workload in sorted(by_workload, key=workload_sort_key):
        members = sorted(by_workload[workload], key=lambda r: (ROLE_ORDER.get(r.role, 9), r.ns_per_op or 0))
        base = next((r for r in members if r.role == "ours" and r.ns_per_op), None)
        first = True
        for row in members:
            ratio = "-"
            if base and row.ns_per_op:
                value = row.ns_per_op / base.ns_per_op
                ratio = "1.00" if row is base else (f"{value:.2f}x" if value >= 0.1 else f"{value:.3f}x")
            heap = row.per_op("heapBytes", 50)
            lines.append([
                workload if first else "",
                row.implementation,
                row.role,
                row.median_text(),
                ratio,
                format_bytes(heap),
                format_count(row.per_op("arenaAllocations", 100)),
                format_count(row.per_op("jemallocCalls", 100), 4),
            ])
            first = False
        lines.append(None)
    widths = [max(len(headers[i]), *(len(line[i]) for line in lines if line)) for i in range(len(headers))]

    def render(fields):
        cells = []
        for i, field in enumerate(fields):
            cells.append(field.rjust(widths[i]) if i >= 3 else field.ljust(widths[i]))
        return "  ".join(cells).rstrip()

    out = [render(headers), "  ".join("-" * w for w in widths)]
    for line in lines[:-1]:
        out.append("" if line is None else render(line))
    return "\n".join(out)


def workload_sort_key(workload):
    match = re.match(r"(\d+)([a-z]?)", workload)
    return (int(match.group(1)), match.group(2)) if match else (999, workload)


# MARK: - Gates and targets


def find(rows, workload_id, implementation):
    for row in rows:
        if row.workload_id == workload_id and row.implementation == implementation and row.ns_per_op:
            return row
    return None


def gates(rows):
    """Count gates: (description, passed)."""
    results = []
    for row in sorted(rows, key=lambda r: (workload_sort_key(r.workload), r.implementation)):
        if row.role not in ("ours", "ours+"):
            continue
        if row.workload_id in ZERO_ALLOCATION_WORKLOADS:
            worst = {metric: row.value(metric, 100) for metric in ("heapBytes", "arenaAllocations", "jemallocCalls")}
            missing = [metric for metric, value in worst.items() if value is None]
            if missing:
                results.append((f"{row.workload}: {row.implementation}: no data for {', '.join(missing)}", False))
                continue
            passed = all(value == 0 for value in worst.values())
            detail = ", ".join(f"{metric} {value:.0f}" for metric, value in worst.items())
            results.append((f"zero allocations  {row.workload}: {row.implementation}  (worst batch: {detail})",
                            passed))
        elif row.workload_id == "1a":
            calls = row.per_op("jemallocCalls", 100)
            regions = row.per_op("arenaAllocations", 50)
            if calls is None or regions is None:
                results.append((f"{row.workload}: {row.implementation}: no jemalloc/arena counts", False))
                continue
            results.append((
                f"jemalloc calls per 64 B region <= {SMALL_REGION_JEMALLOC_CALLS_LIMIT}  {row.implementation}  "
                f"(worst batch {calls:.4f}/region; {regions:.2f} arena regions per op)",
                calls <= SMALL_REGION_JEMALLOC_CALLS_LIMIT and abs(regions - 1) < 0.01,
            ))
    return results


def targets(rows):
    """Time targets, reported as MET/MISSED, never gated: (description, met or None, detail)."""
    out = []

    def speedup(workload_id, ours, peer, at_least, text):
        a, b = find(rows, workload_id, ours), find(rows, workload_id, peer)
        if not a or not b:
            out.append((text, None, "not measured in this run"))
            return
        ratio = b.ns_per_op / a.ns_per_op
        out.append((text, ratio >= at_least,
                    f"{ours} {a.ns_per_op:.2f} ns vs {peer} {b.ns_per_op:.2f} ns: {ratio:.2f}x (need >= {at_least}x)"))

    def within(workload_id, ours, reference_workload_id, reference, factor, text):
        a, b = find(rows, workload_id, ours), find(rows, reference_workload_id, reference)
        if not a or not b:
            out.append((text, None, "not measured in this run"))
            return
        ratio = a.ns_per_op / b.ns_per_op
        out.append((text, ratio <= factor,
                    f"{ours} {a.ns_per_op:.2f} ns vs {reference} {b.ns_per_op:.2f} ns: {ratio:.2f}x (need <= {factor}x)"))

    def throughput(ours, peer, at_least, text):
        a, b = find(rows, "5", ours), find(rows, "5", peer)
        if not a or not b:
            out.append((text, None, "not measured in this run"))
            return
        ratio = a.gigabytes_per_second / b.gigabytes_per_second
        out.append((text, ratio >= at_least,
                    f"{a.gigabytes_per_second:.2f} GB/s vs {b.gigabytes_per_second:.2f} GB/s: {ratio:.2f}x "
                    f"(need >= {at_least}x)"))

    region, bytes_mut = "Region: ArenaAllocator.allocate", "BytesMut(capacity:)"
    byte_buffer_alloc = "ByteBufferAllocator().buffer(capacity:)"
    speedup("1a", region, byte_buffer_alloc, 2.0, "issue 2: 64 B region alloc+drop >= 2x faster than ByteBuffer")
    speedup("1a", region, "malloc+free", 1.0, "issue 2: 64 B region alloc+drop no slower than malloc+free")
    speedup("1a", bytes_mut, byte_buffer_alloc, 2.0, "DESIGN: small BytesMut alloc+drop >= 2x faster than ByteBuffer")
    atomic = "one atomic increment+decrement"
    within("2a", "Bytes copy", "2a", atomic, 1.5, "issue 3: clone within 1.5x of one atomic increment+decrement")
    within("2b", "Bytes.slice(range)", "2a", atomic, 1.5,
           "issue 3: slice within 1.5x of one atomic increment+decrement")
    speedup("3", "Bytes.readBytes(64)", "ByteBuffer.readSlice(length: 64)", 1.0,
            "issue 3: 64 B frame split no slower than ByteBuffer.readSlice")
    speedup("4", "BytesMut.writeInteger", "ByteBuffer.writeInteger", 1.0,
            "DESIGN/issue 3: UInt32 writes no slower than ByteBuffer.writeInteger")
    throughput("BytesMut.append(contentsOf:)", "[UInt8].append(contentsOf:)", 2.0,
               "DESIGN/issue 3: growth to 64 MiB >= 2x [UInt8]")
    throughput("BytesMut.append(contentsOf:)", "ByteBuffer.writeBytes", 2.0,
               "DESIGN/issue 3: growth to 64 MiB >= 2x ByteBuffer")

    # Issue 14: fast paths where users start.
    explicit = "BytesMut(capacity:in: arena)"
    within("1a", bytes_mut, "1a", explicit, 1.1,
           "issue 14: default BytesMut(capacity:) within 1.1x of the explicit arena's")
    speedup("1a", bytes_mut, "malloc+free", 1.0, "issue 14: default BytesMut(capacity:) no slower than malloc+free")
    chain_frame, contiguous_frame = "Chain.readContiguousBytes(64)", "ByteBuffer.readSlice(length: 64) (contiguous)"
    within("8b", chain_frame, "8b", contiguous_frame, 1.5,
           "issue 14: 64 B frames from a 2-segment Chain within 1.5x of a contiguous ByteBuffer.readSlice")
    frames = find(rows, "8b", chain_frame)
    regions = frames.per_op("arenaAllocations", 50) if frames else None
    text = ("issue 14: Chain frames allocate only when they straddle segments (1 frame in 64 here): "
            "arena regions per frame <= 1/64")
    if regions is None:
        out.append((text, None, "not measured in this run"))
    else:
        out.append((text, regions <= 1 / 64 + 1e-9,
                    f"{regions:.4f} regions per frame (median batch): a straddling copy every "
                    f"{'-' if regions == 0 else f'{1 / regions:.0f}'} frames (need <= 0.0156)"))
    nio_copy = "ByteBuffer(bytes: array) (copy)"
    speedup("10", "ByteBuffer(bytes) (one copy)", nio_copy, 1.0,
            "issue 14: ByteBuffer(bytes) no slower than NIO's ByteBuffer(bytes: array)")
    speedup("10", "ByteBuffer(chain) (one copy)", nio_copy, 1.0,
            "issue 14: ByteBuffer(chain) (2 segments) no slower than NIO's ByteBuffer(bytes: array)")
    return out


# MARK: - Echo over loopback (workload 11, issue 13)

ECHO_WORKLOAD_PREFIX = "11"
ECHO_OURS = "ArenaFramingHandler + one reply buffer per read"
ECHO_NIO_PEERS = ["ByteToMessageHandler + write each slice", "ByteToMessageHandler + one reply buffer per read"]
ECHO_THROUGHPUT_TARGET = 1.2  # issue 13: at least 1.2x NIO's throughput for 64 B frames


def echo_rows(rows, sockets_only=False):
    """Workload 11's rows: the loopback echoes (11a, 11b) and, unless `sockets_only`, the framing
    alone (11c)."""
    return [row for row in rows
            if row.workload_id.startswith(ECHO_WORKLOAD_PREFIX) and row.ns_per_op
            and (" echo " in row.workload or not sockets_only)]


def cpu_per_frame(row):
    value = row.value("cpuTime", 50)
    return None if value is None else value / row.ops


def echo_allocations(row):
    """Allocations per frame in the median batch: mallocs of every thread (ordo-one's interposer)
    plus the arena's jemalloc calls (`mallocx`, which the interposer does not see)."""
    mallocs = row.value("mallocCountTotal", 50)
    if mallocs is None:
        return None
    return (mallocs + (row.value("jemallocCalls", 50) or 0)) / row.ops


def echo_frame_label(row):
    match = re.search(r"(?:echo|frame) (.+?) frames", row.workload)
    label = match.group(1) if match else row.workload
    return label if " echo " in row.workload else f"{label}, framing alone"


def paired_ratio(runs_rows, workload_id, implementation, base_implementation, measure):
    """The median over the runs of measure(row) / measure(ours) within each run (peer/ours when
    `measure` is a time), and the per-run ratios: a ratio from one run pairs benchmarks run
    seconds apart, so a machine whose load drifts disturbs it less than a ratio of medians."""
    ratios = []
    for run in runs_rows:
        a, b = find(run, workload_id, base_implementation), find(run, workload_id, implementation)
        if a and b and measure(a) and measure(b):
            ratios.append(measure(b) / measure(a))
    return (median(ratios) if ratios else None), ratios


def echo_table(rows, runs_rows):
    members = echo_rows(rows)
    if not members:
        return []
    headers = ["frames", "server", "role", "frames/s", "MB/s", "peer/ours", "CPU ns/frame", "CPU peer/ours",
               "allocs/frame", "arena regions/frame", "peak RSS"]
    lines = []
    for workload in sorted({row.workload for row in members}, key=workload_sort_key):
        group = sorted((r for r in members if r.workload == workload),
                       key=lambda r: (ROLE_ORDER.get(r.role, 9), r.implementation))
        base = next((r for r in group if r.implementation == ECHO_OURS), None)
        if base is None:
            base = next((r for r in group if r.role == "ours"), None)
        for index, row in enumerate(group):
            regions = row.per_op("arenaAllocations", 50)
            cpu = cpu_per_frame(row)
            wall_ratio = cpu_ratio = None
            if base:
                wall_ratio, _ = paired_ratio(runs_rows, row.workload_id, row.implementation, base.implementation,
                                             lambda r: r.ns_per_op)
                cpu_ratio, _ = paired_ratio(runs_rows, row.workload_id, row.implementation, base.implementation,
                                            cpu_per_frame)
            lines.append([
                echo_frame_label(row) if index == 0 else "",
                row.implementation,
                row.role,
                f"{1e9 / row.ns_per_op / 1e6:.2f} M",
                f"{row.bytes / row.wall * 1e3:.0f}" if row.bytes else "-",
                "1.00" if row is base else ("-" if wall_ratio is None else f"{wall_ratio:.2f}x"),
                "-" if cpu is None else f"{cpu:.0f}",
                "1.00" if row is base else ("-" if cpu_ratio is None else f"{cpu_ratio:.2f}x"),
                format_count(echo_allocations(row), 4),
                "-" if regions is None else format_count(regions, 4),
                format_bytes(row.value("peakMemoryResident", 100)),
            ])
        lines.append(None)
    widths = [max(len(headers[i]), *(len(line[i]) for line in lines if line)) for i in range(len(headers))]

    def render(fields):
        return "  ".join(f.rjust(widths[i]) if i >= 3 else f.ljust(widths[i]) for i, f in enumerate(fields)).rstrip()

    out = [render(headers), "  ".join("-" * w for w in widths)]
    out += ["" if line is None else render(line) for line in lines[:-1]]
    return out


def echo_targets(rows, runs_rows):
    """Issue 13's targets: (description, met or None, detail), each against both NIO servers."""
    out = []
    for workload in sorted({row.workload for row in echo_rows(rows, sockets_only=True)}, key=workload_sort_key):
        workload_id = workload.split()[0]
        label = workload.split(" ", 1)[1]
        ours = find(rows, workload_id, ECHO_OURS)
        for peer_name in ECHO_NIO_PEERS:
            peer = find(rows, workload_id, peer_name)
            if not ours or not peer:
                continue
            ratio, per_run = paired_ratio(runs_rows, workload_id, peer_name, ECHO_OURS, lambda r: r.ns_per_op)
            if ratio is None:
                continue
            runs_text = f" (median of {len(per_run)} runs: {', '.join(f'{r:.2f}' for r in per_run)})" \
                if len(per_run) > 1 else ""
            if "64 B" in workload:
                out.append((f"issue 13: {label}: >= {ECHO_THROUGHPUT_TARGET}x the throughput of NIO's {peer_name}",
                            ratio >= ECHO_THROUGHPUT_TARGET,
                            f"{ratio:.2f}x{runs_text}"))
            a, b = echo_allocations(ours), echo_allocations(peer)
            if a is not None and b is not None:
                out.append((f"issue 13: {label}: allocations per frame no more than NIO's {peer_name}", a <= b,
                            f"{a:.4f} vs {b:.4f}"))
    return out


# Figures from DESIGN.md, measured separately on this kind of machine (ratios matter; absolutes
# drift by up to 30%): (workload id, our implementation, tokio figure, what it is).
TOKIO_REFERENCE = [
    ("1a", "BytesMut(capacity:)", 9.9, "ns", "BytesMut::with_capacity(64) + drop (target: no slower)"),
    ("1b", "BytesMut(capacity:)", 18.0, "ns", "BytesMut::with_capacity(4096) + drop"),
    ("2a", "Bytes copy", 19.0, "ns", "Bytes::clone + drop, 15-19 ns (target: within 1.5x)"),
    ("2b", "Bytes.slice(range)", 14.0, "ns", "Bytes::slice + drop (target: within 1.5x)"),
    ("3", "Bytes.readBytes(64)", 19.0, "ns", "split_to(64) per frame, 17-19 ns"),
    ("4", "BytesMut.writeInteger", 1.0, "ns", "put_u32"),
    ("5", "BytesMut.append(contentsOf:)", 2.0, "GB/s", "growth to 64 MiB"),
    ("7", "Bytes copy", 146.0, "ns", "two threads cloning one view, 94-146 ns/op"),
]


def tokio_lines(rows):
    lines = []
    for workload_id, implementation, figure, unit, what in TOKIO_REFERENCE:
        row = find(rows, workload_id, implementation)
        if not row:
            continue
        if unit == "GB/s":
            ours = row.gigabytes_per_second
            lines.append(f"  {workload_id:>3} {implementation}: {ours:.2f} GB/s vs tokio {figure} GB/s ({what})")
        else:
            ours = row.ns_per_op
            lines.append(f"  {workload_id:>3} {implementation}: {ours:.2f} ns vs tokio {figure} ns, "
                         f"{ours / figure:.2f}x ({what})")
    return lines


def run_directories(arguments):
    """The result directories named, a PARENT expanded into its run-1, run-2, ... in order."""
    directories = []
    for argument in arguments:
        runs = sorted((entry for entry in os.listdir(argument) if re.fullmatch(r"run-\d+", entry)),
                      key=lambda entry: int(entry[4:]))
        directories += [os.path.join(argument, run) for run in runs] if runs else [argument]
    return directories


def main(argv):
    if len(argv) < 2 or not all(os.path.isdir(argument) for argument in argv[1:]):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    directories = run_directories(argv[1:])
    runs = [load(directory) for directory in directories]
    for directory, run in zip(directories, runs):
        if not run:
            print(f"summarize: no '*{SUFFIX}' files for {TARGET} in {directory}", file=sys.stderr)
            return 1
    raw = combine(runs)
    rows = [Row(name, metrics) for name, metrics in raw.items()]
    runs_rows = [[Row(name, metrics) for name, metrics in run.items()] for run in runs]
    directory = directories[0] if len(directories) == 1 else os.path.commonpath(directories)

    report = []
    if len(directories) > 1:
        report.append(f"{len(directories)} runs: each figure is the median of the runs' medians "
                      f"(count gates: the worst batch of any run).")
    report.append("Medians per operation (one batch of ops per sample); peer/ours = peer time / ours time, so")
    report.append("above 1.00 means ours is faster. heap B/op: jemalloc thread.allocated delta (median batch);")
    report.append("arena allocs/op and jemalloc calls/op: worst batch, for the arena the view lives in.")
    report.append("")
    # Workload 11 (servers) has a section of its own below.
    others = [row for row in rows if row not in echo_rows(rows)]
    if others:
        report.append(table(others))
    report.append("")

    gate_results = gates(rows)
    report.append("Count gates (fail the run):")
    for text, passed in gate_results:
        report.append(f"  {'PASS' if passed else 'FAIL'}  {text}")
    missing = [row.name for row in rows if row.ns_per_op is None]
    for name in missing:
        report.append(f"  FAIL  {name}: no wall-clock data")
    report.append("")

    report.append("Time targets (reported, not gated; 2 noisy cores):")
    for text, met, detail in targets(rows):
        verdict = "n/a   " if met is None else ("MET   " if met else "MISSED")
        report.append(f"  {verdict} {text}: {detail}")
    report.append("")
    echo = echo_table(rows, runs_rows)
    if echo:
        report.append("Echo over loopback (workload 11, issue 13): one batch = the client writes the frames and reads")
        report.append("them all back (framing alone: 16 reads of 64 KiB through an EmbeddedChannel). frames/s and MB/s")
        report.append("(each way) from the median batch's wall clock; CPU ns/frame = CPU time of every thread, client")
        report.append("included; peer/ours = peer time / ours time, taken within each run, then the median over runs;")
        report.append("allocs/frame = (mallocs of every thread + the arena's jemalloc calls) / frames, median batch;")
        report.append("peak RSS of the whole process (client included), the highest sample.")
        report.append("")
        report.extend(echo)
        report.append("")
        report.append("Echo targets (reported, not gated):")
        for text, met, detail in echo_targets(rows, runs_rows):
            report.append(f"  {'MET   ' if met else 'MISSED'} {text}: {detail}")
        report.append("")
    report.append("Against tokio bytes 1.2 (DESIGN.md reference figures, measured separately):")
    report.extend(tokio_lines(rows))

    if scaled_exports:
        report.append("")
        report.append(f"warning: {len(scaled_exports)} exports were scaled (K/M/μs) and rounded by ordo-one, "
                      f"e.g. {scaled_exports[0]}")

    text = "\n".join(report)
    print(text)
    with open(os.path.join(directory, "summary.txt"), "w") as handle:
        handle.write(text + "\n")
    failed = missing or not all(passed for _, passed in gate_results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
