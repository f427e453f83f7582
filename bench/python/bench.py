"""Per-decision latency of the tutorial's authorizer (authorizer.py) in CPython.

Two rows per event, like the Rust rows:
  handler: lambda_handler(event dict) -> response dict (what the tutorial's code costs);
  full:    json.loads(event bytes) -> lambda_handler -> json.dumps(response) bytes
           (what a Lambda runtime adds around it; comparable to the other "full" rows).
Each call is timed on its own (time.perf_counter_ns) after a warm-up; the handler's
print() goes to /dev/null through a buffered file, as to a pipe.
Writes one JSON line per row to $AUTHZ_BENCH_OUT/samples.jsonl (and stdout).
Usage: python3 bench/python/bench.py [samples]
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import authorizer  # noqa: E402


def sample(n, f):
    for _ in range(n // 10):
        f()
    clock = time.perf_counter_ns
    times = []
    append = times.append
    for _ in range(n):
        started = clock()
        f()
        append(clock() - started)
    times.sort()
    return times


def quantile(times, per_mille):
    return times[((len(times) - 1) * per_mille + 500) // 1000]


def record(case, n, f):
    times = sample(n, f)
    line = json.dumps({"suite": "python", "case": case, "n": n, "p50_ns": quantile(times, 500),
                       "p99_ns": quantile(times, 990), "max_ns": times[-1]}, separators=(",", ":"))
    sys.__stdout__.write("sample " + line + "\n")
    out = os.environ.get("AUTHZ_BENCH_OUT")
    if out:
        with open(os.path.join(out, "samples.jsonl"), "a") as f:
            f.write(line + "\n")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    events = os.path.join(HERE, "..", "..", "tests", "fixtures", "events")
    sys.stdout = open(os.devnull, "w")
    handler = authorizer.lambda_handler
    for case, fixture in (("allow", "token-abc123.json"), ("deny", "token-wrong.json")):
        with open(os.path.join(events, fixture), "rb") as f:
            raw = f.read()
        event = json.loads(raw)
        expected = "Allow" if case == "allow" else "Deny"
        assert handler(event, None)["policyDocument"]["Statement"][0]["Effect"] == expected
        record(f"{case} handler", n, lambda: handler(event, None))
        record(f"{case} full", n, lambda: json.dumps(handler(json.loads(raw), None)).encode())


if __name__ == "__main__":
    main()
