"""Runs commands alternately and reports each one's median wall time and peak memory.

Usage: measure.py RUNS NAME -- CMD ... [--- NAME -- CMD ...]
Peak memory is the child's maximum resident set size, read from wait4.
"""
import os
import statistics
import subprocess
import sys
import time


def parse(argv):
    runs = int(argv[0])
    commands, rest = [], argv[1:]
    while rest:
        name, sep, rest = rest[0], rest[1], rest[2:]
        assert sep == "--", "expected NAME -- CMD"
        end = rest.index("---") if "---" in rest else len(rest)
        commands.append((name, rest[:end]))
        rest = rest[end + 1:]
    return runs, commands


def run_once(cmd):
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        sys.exit(f"{cmd[0]} failed with status {status}")
    return elapsed, usage.ru_maxrss / 1024  # MiB


def main():
    runs, commands = parse(sys.argv[1:])
    results = {name: [] for name, _ in commands}
    for _ in range(runs):
        for name, cmd in commands:
            results[name].append(run_once(cmd))
    for name, samples in results.items():
        times = [t for t, _ in samples]
        peaks = [m for _, m in samples]
        print(f"{name}: median {statistics.median(times):.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)}), "
              f"peak memory median {statistics.median(peaks):.0f} MiB")
    names = list(results)
    if len(names) == 2:
        a, b = (statistics.median([t for t, _ in results[n]]) for n in names)
        ma, mb = (statistics.median([m for _, m in results[n]]) for n in names)
        print(f"ratio {names[0]}/{names[1]}: time {a / b:.2f}, peak memory {ma / mb:.2f}")


if __name__ == "__main__":
    main()
