"""Turns the raw results of scripts/bench into the results section of BENCHMARKS.md.

Usage: report.py OUT_DIR CRITERION_DIR ELAPSED_SECONDS BENCHMARKS_MD QUICK
Reads OUT_DIR/samples.jsonl (per-decision samples), criterion's estimates of
this run, OUT_DIR/cold-*.json (hyperfine), OUT_DIR/rss-* (KiB), OUT_DIR/sizes,
and replaces what lies between the bench markers in BENCHMARKS_MD (QUICK=1:
prints only). Prints the targets' pass/fail; exits 0 either way: the figures
are the result, a failed target is not a broken script.
"""
import datetime
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys

BEGIN = "<!-- bench:begin (written by scripts/bench; edit the script, not this section) -->"
END = "<!-- bench:end -->"


def read_samples(out):
    rows = {}
    with open(os.path.join(out, "samples.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            rows[(r["suite"], r["case"])] = r
    return rows


def read_rounds(samples):
    """(suite, case) -> {round: sample} for the head-to-head rounds (suite `round <n> <suite>`)."""
    rounds = {}
    for (suite, case), r in samples.items():
        m = re.fullmatch(r"round (\d+) (\S+)", suite)
        if m:
            rounds.setdefault((m.group(2), case), {})[int(m.group(1))] = r
    return rounds


def read_criterion(root, since):
    """(group, function) -> mean ns, for results written by this run."""
    found = {}
    for path in glob.glob(os.path.join(root, "**", "new", "benchmark.json"), recursive=True):
        estimates = os.path.join(os.path.dirname(path), "estimates.json")
        if not os.path.exists(estimates) or os.path.getmtime(estimates) < since:
            continue
        b = json.load(open(path))
        e = json.load(open(estimates))
        found[(b["group_id"], b["function_id"])] = {"mean": e["mean"]["point_estimate"], "median": e["median"]["point_estimate"]}
    return found


def quantile(sorted_values, per_mille):
    return sorted_values[((len(sorted_values) - 1) * per_mille + 500) // 1000]


def read_cold(out, name):
    path = os.path.join(out, f"cold-{name}.json")
    if not os.path.exists(path):
        return None
    times = sorted(json.load(open(path))["results"][0]["times"])
    return {"n": len(times), "p50": quantile(times, 500) * 1e3, "p99": quantile(times, 990) * 1e3,
            "mean": sum(times) / len(times) * 1e3}


def read_started(out, policy):
    """Medians of the phases `Authorizer::start` logs (ms), or None."""
    path = os.path.join(out, f"started-{policy}.jsonl")
    if not os.path.exists(path):
        return None
    runs = [json.loads(line)["fields"] for line in open(path) if line.strip()]
    if not runs:
        return None
    return ({k: statistics.median(r[k] for r in runs) for k in ("sdk_ms", "policy_ms", "ready_ms")}
            | {"n": len(runs), "resumed": sum(r.get("resumed") is True for r in runs)})


def read_time(out, name):
    """(peak RSS in MiB, minor page faults) of a process timed by /usr/bin/time."""
    path = os.path.join(out, f"rss-{name}")
    try:
        rss, faults = open(path).read().strip().splitlines()[-1].split()
        return int(rss) / 1024, int(faults)
    except (OSError, ValueError, IndexError):
        return None, None


def read_rss(out, name):
    return read_time(out, name)[0]


def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def locked_version(lockfile, name):
    try:
        text = open(lockfile).read()
    except OSError:
        return "?"
    m = re.search(r'name = "' + re.escape(name) + r'"\nversion = "([^"]+)"', text)
    return m.group(1) if m else "?"


def machine(out, elapsed):
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = " / ".join(open(os.path.join(out, f)).read().strip() for f in ("load-start", "load-end") if os.path.exists(os.path.join(out, f)))
    return (f"{os.cpu_count()} vCPU {cpu}, {mem_gib:.0f} GiB, Linux {platform.release()}; "
            f"{run('rustc', '--version')}; wasmtime {locked_version('Cargo.lock', 'wasmtime')}, "
            f"cedar-policy {locked_version('bench/alternatives/Cargo.lock', 'cedar-policy')}, "
            f"CPython {platform.python_version()}, {run('hyperfine', '--version')}. "
            f"{load}. The suite took {elapsed // 60} min {elapsed % 60} s.")


def us(ns):
    return "-" if ns is None else f"{ns / 1000:.2f}" if ns < 10_000 else f"{ns / 1000:.1f}"


def ms(v):
    return "-" if v is None else f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:.0f}"


def every(sample, field):
    """`field` of all the sample's calls."""
    return sample[field]


def steady(sample, field):
    """`field` of the sample's calls made at the machine's steady speed (see
    bench/sample.rs), or of all its calls for rows sampled without the probe;
    None when the row was sampled wholly in a slow stretch."""
    return sample.get("steady", sample).get(field) if sample else None


def ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.1f}x" if a / b < 100 else f"{a / b:.0f}x"


def main():
    out, criterion_root, elapsed, benchmarks, quick = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1"
    samples = read_samples(out)
    rounds = read_rounds(samples)
    criterion = read_criterion(criterion_root, os.path.getmtime(os.path.join(out, ".started")))

    def s(suite, case):
        return samples.get((suite, case))

    def c(group, function):
        r = criterion.get((group, function))
        return r and r["mean"]

    lines = []
    add = lines.append
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    add(f"Run of {now}{' (--quick: not kept)' if quick else ''}. Machine: {machine(out, elapsed)}")
    add("")

    # Per decision.
    floor = {ev: s("native", f"{ev} full") for ev in ("allow", "deny")}
    for ev, title, wasm_cases in (
        ("allow", "allowed event (`abc123`, or an HS256 JWT for the jwt rows)", [("static-token", "static-token"), ("jwt", "jwt-hs256")]),
        ("deny", "denied event (an unknown token)", [("static-token", "static-token deny")]),
    ):
        add(f"### Per decision, {title} (µs)")
        add("")
        add("| authorizer | what is timed | p50 | p99 | p99/p50 | p50, steady speed | p99, steady speed | criterion mean | p50 vs native hard-coded |")
        add("|---|---|---|---|---|---|---|---|---|")
        base = floor[ev]["p50_ns"] if floor[ev] else None

        def row(name, what, sample, crit):
            if not sample:
                return
            p50, p99 = sample["p50_ns"], sample["p99_ns"]
            steady_p50, steady_p99 = (us(sample["steady"].get(f)) if "steady" in sample else "-" for f in ("p50_ns", "p99_ns"))
            add(f"| {name} | {what} | {us(p50)} | {us(p99)} | {p99 / p50:.1f} | {steady_p50} | {steady_p99} | {us(crit)} | {ratio(p50, base)} |")

        for policy, group in wasm_cases:
            row(f"**ours, {policy}**", "fresh instance made ahead (`Engine::decide`, tidied between requests)",
                s("wasm", f"{group} decide"), c(group, "wasm: fresh instance made ahead"))
            row(f"**ours, {policy}**", "full path: event bytes -> response bytes (tidied between requests)",
                s("wasm", f"{group} full"), c(group, "wasm: full authorizer path (event bytes -> response bytes)"))
            row(f"ours, {policy}", "fresh instance, never tidied (instantiated and dropped inline)",
                s("wasm", f"{group} decide never-tidied"), c(group, "wasm: fresh instance, never tidied"))
            row(f"ours, {policy}", "host only: event bytes -> request record (part of the full path)",
                s("host", f"{group} read event"), c(group, "host: event bytes -> request record"))
            row(f"ours, {policy}", "host only: outcome -> response bytes (part of the full path)",
                s("host", f"{group} write response"), c(group, "host: outcome -> response bytes"))
            row(f"{policy} policy compiled natively", "decide only (the floor for the same logic)", s("wasm-native", f"{group} decide"),
                c(group, "native: decide (config parsed once)"))
            if ev == "allow" and policy == "static-token":
                row("ours, static-token built against contract 0.1.0", "fresh instance made ahead (a module published before 0.2.0)",
                    s("wasm", "static-token contract-0.1.0 decide"), c("static-token contract 0.1.0", "wasm: fresh instance made ahead"))
        row("Cedar", "full path", s("cedar", f"{ev} full"), c(f"alternatives {ev}", "cedar"))
        row("tutorial's Python handler", "handler only (event dict -> dict)", s("python", f"{ev} handler"), None)
        row("tutorial's Python handler", "full path (json.loads, handler, json.dumps)", s("python", f"{ev} full"), None)
        row("native hard-coded", "full path", floor[ev], c(f"alternatives {ev}", "native hard-coded"))
        add("")

    # Head to head: the same rows in alternating processes, round after round.
    def paired(a, b, at=every):
        """Per-round p50 ratios a/b over the rounds both have, sorted; `at=steady`
        for the calls made at the machine's steady speed."""
        ra, rb = rounds.get(a, {}), rounds.get(b, {})
        pairs = ((at(ra[n], "p50_ns"), at(rb[n], "p50_ns")) for n in ra if n in rb)
        return sorted(x / y for x, y in pairs if x and y)

    def median_of(key, field, at=every):
        values = [v for v in (at(x, field) for x in rounds.get(key, {}).values()) if v]
        return statistics.median(values) if values else None

    if rounds:
        n_rounds = max(len(r) for r in rounds.values())
        add(f"### Per decision, head to head: {n_rounds} rounds of alternating processes (µs)")
        add("")
        add("Each round runs ours, then the alternatives (the other way round every other round), in short")
        add("processes of their own, so that the machine's slow spells fall on both sides. Ratios are taken")
        add("within a round, then their median; their spread is the noise that is left.")
        add("")
        add("| authorizer | what is timed | median p50 | p50 of the fastest and slowest round | median p99 | median p50, steady speed | median p99, steady speed | p50 vs native hard-coded (median of rounds) |")
        add("|---|---|---|---|---|---|---|---|")
        for key, name, what, floor_key in (
            (("wasm", "static-token decide"), "**ours, static-token**", "fresh instance made ahead, allowed", None),
            (("wasm", "static-token full"), "**ours, static-token**", "full path, allowed", ("native", "allow full")),
            (("wasm", "static-token deny full"), "**ours, static-token**", "full path, denied", ("native", "deny full")),
            (("wasm", "jwt-hs256 decide"), "**ours, jwt**", "fresh instance made ahead, allowed", None),
            (("wasm", "jwt-hs256 full"), "**ours, jwt**", "full path, allowed", ("native", "allow full")),
            (("cedar", "allow full"), "Cedar", "full path, allowed", ("native", "allow full")),
            (("cedar", "deny full"), "Cedar", "full path, denied", ("native", "deny full")),
            (("native", "allow full"), "native hard-coded", "full path, allowed", None),
            (("native", "deny full"), "native hard-coded", "full path, denied", None),
        ):
            r = rounds.get(key)
            if not r:
                continue
            p50s = sorted(x["p50_ns"] for x in r.values())
            vs_native = paired(key, floor_key) if floor_key else []
            add(f"| {name} | {what} | {us(statistics.median(p50s))} | {us(p50s[0])} - {us(p50s[-1])} | "
                f"{us(median_of(key, 'p99_ns'))} | {us(median_of(key, 'p50_ns', steady))} | {us(median_of(key, 'p99_ns', steady))} | "
                f"{f'{statistics.median(vs_native):.1f}x' if vs_native else '-'} |")
        add("")
        add("| comparison (full path, p50) | ratio, median of rounds | fastest and slowest round | rounds ours was faster | ratio at steady speed, median of rounds | fastest and slowest round | rounds ours was faster |")
        add("|---|---|---|---|---|---|---|")
        for a, b, label in ((("wasm", "static-token full"), ("cedar", "allow full"), "ours static-token / Cedar, allowed"),
                            (("wasm", "static-token deny full"), ("cedar", "deny full"), "ours static-token / Cedar, denied")):
            cells = [f"{statistics.median(r):.2f} | {r[0]:.2f} - {r[-1]:.2f} | {sum(x < 1 for x in r)} of {len(r)}"
                     for r in (paired(a, b), paired(a, b, steady)) if r]
            if cells:
                add(f"| {label} | {' | '.join(cells)} |")
        add("")

    # Cold start.
    cold = {name: read_cold(out, name) for name in
            ("native", "cedar", "python", "ours-static-token-cache", "ours-static-token-cache-read",
             "ours-static-token-nocache", "ours-static-token-precompiled", "ours-jwt-cache", "ours-jwt-cache-read",
             "ours-jwt-nocache", "ours-jwt-precompiled")}
    native_cold = cold["native"]["p50"] if cold["native"] else None
    add("### Cold start: new process to first decision (ms, hyperfine)")
    add("")
    add("| authorizer | p50 | p99 | mean | runs | p50 vs native hard-coded |")
    add("|---|---|---|---|---|---|")
    for name, label in (
        ("native", "native hard-coded"),
        ("cedar", "Cedar (parses its policy set and entities)"),
        ("python", "tutorial's Python handler (`python3 -c`: import + first call)"),
        ("ours-static-token-cache", "**ours, static-token from the registry, code cache warm, pointer confirmed < 30 s ago: no registry read**"),
        ("ours-static-token-cache-read", "**ours, static-token from the registry, code cache warm, registry read first**"),
        ("ours-static-token-nocache", "**ours, static-token from the registry, no code cache: compiled**"),
        ("ours-static-token-precompiled", "**ours, static-token from the registry, no code cache: code compiled at publish**"),
        ("ours-jwt-cache", "**ours, jwt from the registry, code cache warm, pointer confirmed < 30 s ago: no registry read**"),
        ("ours-jwt-cache-read", "**ours, jwt from the registry, code cache warm, registry read first**"),
        ("ours-jwt-nocache", "**ours, jwt from the registry, no code cache: compiled**"),
        ("ours-jwt-precompiled", "**ours, jwt from the registry, no code cache: code compiled at publish**"),
    ):
        r = cold[name]
        if r:
            add(f"| {label} | {ms(r['p50'])} | {ms(r['p99'])} | {ms(r['mean'])} | {r['n']} | {ratio(r['p50'], native_cold)} |")
    add("")
    add("Where ours spends it (criterion, this run):")
    add("")
    add("| step | median (ms) |")
    add("|---|---|")
    for function in ("engine: new", "static-token: compile + pre-initialize", "static-token: from the compiled-code cache",
                     "jwt: compile + pre-initialize", "jwt: from the compiled-code cache"):
        r = criterion.get(("cold start", function))
        if r:
            add(f"| {function} (`Engine::new` with the default 64 slots)" if function == "engine: new" else f"| {function}")
            lines[-1] += f" | {ms(r['median'] / 1e6)} |"
    getitem = s("hot-swap", "check, unchanged (GetItem)")
    if getitem:
        add(f"| one registry check on moto (DynamoDB GetItem, connection open; a cold start with the code cache and no confirmed pointer makes only this one request) | {ms(getitem['p50_ns'] / 1e6)} |")
    add("")
    started = {(p, how): read_started(out, p + how) for p in ("static-token", "jwt") for how in ("-read", "")}
    if any(started.values()):
        add("Inside `Authorizer::start`, code cache warm (its `authorizer started` log line, median of the runs; "
            "the rest of the cold start is process start, runtime, first decision and exit):")
        add("")
        add("| policy | pointer | AWS SDK config | + registry read if any (engine set up meanwhile), policy loaded | + first instance made: ready | whole process (hyperfine p50) | runs (resumed) |")
        add("|---|---|---|---|---|---|---|")
        for (p, how), r in started.items():
            whole = cold[f"ours-{p}-cache{how}"]
            pointer = "read from the registry" if how else "confirmed < 30 s ago"
            if r:
                add(f"| {p} | {pointer} | {ms(r['sdk_ms'])} | {ms(r['policy_ms'])} | {ms(r['ready_ms'])} | "
                    f"{ms(whole['p50']) if whole else '-'} | {r['n']} ({r['resumed']}) |")
        add("")

    # Footprint.
    add("### Footprint")
    add("")
    add("| process | peak RSS (MiB) | minor page faults |")
    add("|---|---|---|")
    rss_files = sorted(os.path.basename(p)[4:] for p in glob.glob(os.path.join(out, "rss-*")))
    labels = {"native": "native hard-coded, one decision", "cedar": "Cedar, one decision", "python": "tutorial's Python handler, one decision"}
    for name in rss_files:
        m = re.match(r"ours-(static-token|jwt)-(\d+|compile|precompiled)$", name)
        if m:
            policy, what = m.groups()
            label = {
                "compile": f"**ours, {policy}: compiling (no code cache), one decision**",
                "precompiled": f"**ours, {policy}: code compiled at publish (no code cache: a Lambda cold start), one decision**",
            }.get(what) or f"**ours, {policy}: code cache, {int(what):,} decision{'s' if what != '1' else ''}**"
        else:
            label = labels.get(name, name)
        rss, faults = read_time(out, name)
        add(f"| {label} | {rss:.1f} | {faults:,} |")
    for policy in ("static-token", "jwt"):
        many = [n for n in rss_files if re.match(rf"ours-{policy}-\d+$", n) and n != f"ours-{policy}-1"]
        one = read_time(out, f"ours-{policy}-1")[1]
        if many and one is not None:
            count = int(many[0].rsplit("-", 1)[1])
            faults = read_time(out, many[0])[1]
            add(f"| ours, {policy}: page faults per decision, sustained | | {(faults - one) / (count - 1):.2f} |")
    add("")
    sizes_path = os.path.join(out, "sizes")
    if os.path.exists(sizes_path):
        add("| binary | stripped (MiB) | zipped (MiB) |")
        add("|---|---|---|")
        for line in open(sizes_path):
            name, stripped, zipped = line.rstrip("\n").split("\t")
            add(f"| {name} | {int(stripped) / 2**20:.2f} | {int(zipped) / 2**20:.2f} |")
        if not any("deployed" in line for line in open(sizes_path)):
            add("| deployed arm64 `bootstrap` | not measured: `.aws-sam/build` absent (run scripts/sam-check first) | |")
        add("")

    # Hot swap.
    add("### Hot swap (static-token on moto; ms)")
    add("")
    add("| what | p50 | p99 | max | n |")
    add("|---|---|---|---|---|")
    for case in ("check, unchanged (GetItem)", "swap to a new version + first decision", "swap to a cached version + first decision",
                 "swap to a version precompiled at publish + first decision", "decisions during swaps (2nd thread)", "decisions between swaps (2nd thread)"):
        r = s("hot-swap", case)
        if r:
            add(f"| {case} | {r['p50_ns'] / 1e6:.3f} | {r['p99_ns'] / 1e6:.3f} | {r['max_ns'] / 1e6:.3f} | {r['n']} |")
    add("")

    # Targets.
    add("### Targets (issue 7)")
    add("")
    add("| target | measured | result |")
    add("|---|---|---|")
    verdicts = []

    def target(name, measured, ok):
        verdict = "n/a" if ok is None else "PASS" if ok else "FAIL"
        verdicts.append((name, measured, verdict))
        add(f"| {name} | {measured} | **{verdict}** |")

    # Decision latency: the median of the head-to-head rounds when there are
    # some (one sample of the machine can be a slow spell), else the one
    # sample; judged on the calls made at the machine's steady speed (see
    # bench/sample.rs), with every call's figure beside it.
    for policy, group, budget in (("static-token", "static-token", 5), ("jwt", "jwt-hs256", 10)):
        key = ("wasm", f"{group} decide")
        samples_of = list(rounds[key].values()) if key in rounds else [s(*key)] if s(*key) else []

        def figure(at):
            """(p50, p99/p50, where) at the median of the samples that have `at`'s figures."""
            measured = [(p50, p99) for p50, p99 in ((at(x, "p50_ns"), at(x, "p99_ns")) for x in samples_of) if p50]
            if not measured:
                return None, None, ""
            where = f", median of {len(measured)} rounds" if key in rounds else ""
            return (statistics.median(p50 for p50, _ in measured),
                    statistics.median(p99 / p50 for p50, p99 in measured), where)

        (p50, tail, where), (all_p50, all_tail, all_where) = figure(steady), figure(every)
        target(f"{policy}: p50 <= {budget} µs (fresh instance per decision, made ahead)",
               f"{us(p50)} µs at steady speed{where} (all calls: {us(all_p50)} µs{all_where})" if p50 else "-",
               p50 and p50 <= budget * 1000)
        target(f"{policy}: p99 <= 3x p50",
               f"{tail:.1f}x at steady speed{where} (all calls: {all_tail:.1f}x{all_where})" if tail else "-",
               tail and tail <= 3)
    for name, label in (("ours-static-token-cache", "static-token, code cache, pointer confirmed < 30 s ago"),
                        ("ours-jwt-cache", "jwt, code cache, pointer confirmed < 30 s ago"),
                        ("ours-static-token-cache-read", "static-token, code cache, registry read first"),
                        ("ours-jwt-cache-read", "jwt, code cache, registry read first"),
                        ("ours-static-token-nocache", "static-token, no code cache, compiled"),
                        ("ours-static-token-precompiled", "static-token, no code cache, code compiled at publish"),
                        ("ours-jwt-precompiled", "jwt, no code cache, code compiled at publish")):
        r = cold[name]
        target(f"cold start within 2x native hard-coded ({label})", ratio(r and r["p50"], native_cold),
               r and native_cold and r["p50"] <= 2 * native_cold)
    for alt, label in (("cedar", "Cedar"), ("python", "the Python handler")):
        ours_key, theirs_key = ("wasm", "static-token full"), (alt, "allow full")
        ratios = paired(ours_key, theirs_key, steady)
        if ratios:
            # Head to head: ahead when ours is faster in the median round, at
            # the machine's steady speed on both sides.
            all_ratios = paired(ours_key, theirs_key)
            target(f"per decision ahead of {label} (full path, static-token, p50)",
                   f"{us(median_of(ours_key, 'p50_ns', steady))} vs {us(median_of(theirs_key, 'p50_ns', steady))} µs, "
                   f"ratio {statistics.median(ratios):.2f} at steady speed (median of {len(ratios)} alternating rounds; ours faster in "
                   f"{sum(x < 1 for x in ratios)}); all calls: ratio {statistics.median(all_ratios):.2f}, ours faster in "
                   f"{sum(x < 1 for x in all_ratios)}", statistics.median(ratios) < 1)
        else:
            ours = s("wasm", "static-token full")
            theirs = s(alt, "allow full")
            target(f"per decision ahead of {label} (full path, static-token, p50)",
                   f"{us(ours and ours['p50_ns'])} vs {us(theirs and theirs['p50_ns'])} µs",
                   ours and theirs and ours["p50_ns"] < theirs["p50_ns"])
        theirs_cold = cold[alt]
        for how, pointer in (("", "pointer confirmed < 30 s ago"), ("-read", "registry read first")):
            ours_cold = cold[f"ours-static-token-cache{how}"]
            target(f"cold start ahead of {label} (static-token, code cache, {pointer}, p50)",
                   f"{ms(ours_cold and ours_cold['p50'])} vs {ms(theirs_cold and theirs_cold['p50'])} ms",
                   ours_cold and theirs_cold and ours_cold["p50"] < theirs_cold["p50"])
    peak = max((read_rss(out, n) or 0) for n in rss_files if n.startswith("ours-")) if rss_files else None
    target("peak RSS fits a 128 MB Lambda (< 128 MiB, worst of ours)", f"{peak:.1f} MiB" if peak else "-", peak and peak < 128)
    add("")

    section = "\n".join(lines)
    if quick:
        print(section)
    else:
        text = open(benchmarks).read()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
            text = f"{head}{BEGIN}\n{section}\n{END}{tail}"
        else:
            text = f"{text.rstrip()}\n\n## Side by side: the latest scripts/bench run\n\n{BEGIN}\n{section}\n{END}\n"
        open(benchmarks, "w").write(text)
        print(f"results written to {benchmarks}")
    print()
    for name, measured, verdict in verdicts:
        print(f"{verdict:4}  {name}: {measured}")


if __name__ == "__main__":
    main()
