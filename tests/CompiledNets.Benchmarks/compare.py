#!/usr/bin/env python3
"""CompiledNets, TorchSharp and PyTorch side by side, interleaved, in one run; prints one markdown table.

    python3 tests/CompiledNets.Benchmarks/compare.py [--rounds 5] [--seconds 1] [--threads N] [--skip-build]

Each round starts one fresh process per framework and thread group (the one-thread workloads, then the
all-threads ones), in a rotating order, so that a slow minute on a shared machine hits every framework.
PyTorch (Debian's python3-torch, /usr/bin/python3) and TorchSharp run twice per round: as a short script
runs them (glibc's default malloc thresholds, "fresh") and as a long-lived process does (MALLOC_MMAP_THRESHOLD_
and MALLOC_TRIM_THRESHOLD_ raised so that freed tensors stay mapped, "long-lived"). Fairness settings:
OMP_WAIT_POLICY=PASSIVE (idle OpenMP threads sleep instead of spinning on the cores OpenBLAS needs),
OPENBLAS_NUM_THREADS = the group's thread count (torch.set_num_threads does not set it),
DOTNET_TC_CallCountingDelayMs=0 and a warm-up in both .NET runners. One core's FMA peak is measured by the
CompiledNets runner in every round.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PROJECT = os.path.join(HERE, "CompiledNets.Benchmarks.csproj")
DLL = os.path.join(HERE, "bin", "Release", "net10.0", "CompiledNets.Benchmarks.dll")
TORCH_PYTHON = "/usr/bin/python3"

# name, flops per step (2 × multiply-adds; backward: input and weight gradients, none into the input)
ONE_THREAD = ["iris-step", "iris-step-112", "digits-step", "mlp-large-1t", "infer-1"]
ALL_THREADS = ["mlp-large", "infer-large"]
ORDER = ["iris-step", "iris-step-112", "digits-step", "mlp-large-1t", "mlp-large", "infer-large", "infer-1"]
SIZES = {
    "iris-step": ([4, 10, 3], 32, True), "iris-step-112": ([4, 10, 3], 112, True),
    "digits-step": ([64, 128, 64, 10], 64, True), "mlp-large-1t": ([784, 1024, 1024, 10], 256, True),
    "mlp-large": ([784, 1024, 1024, 10], 256, True), "infer-large": ([784, 1024, 1024, 10], 256, False),
    "infer-1": ([4, 10, 3], 1, False),
}
LONG_LIVED = {"MALLOC_MMAP_THRESHOLD_": str(32 * 1024 * 1024), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}


def flops(name):
    widths, batch, train = SIZES[name]
    fwd = bwd = 0.0
    for i in range(len(widths) - 1):
        macs = batch * widths[i] * widths[i + 1]
        fwd += macs
        bwd += macs if i == 0 else 2 * macs
    return 2 * (fwd + bwd if train else fwd)


def run(cmd, env_extra):
    env = dict(os.environ)
    env.update(env_extra)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.stderr.write(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr[-2000:]}\n")
        return []
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def fmt_us(v):
    if v is None:
        return "–"
    if v >= 1000:
        return f"{v / 1000:.1f} ms"
    if v >= 1:
        return f"{v:.1f} µs" if v < 100 else f"{v:.0f} µs"
    return f"{v * 1000:.0f} ns"


def span(values):
    if not values:
        return "–"
    lo, hi = min(values), max(values)
    return fmt_us(lo) if fmt_us(lo) == fmt_us(hi) else f"{fmt_us(lo)}–{fmt_us(hi)}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0, help="measured seconds per workload and process")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--frameworks", default="cn,ts,pt", help="comma-separated subset of cn,ts,pt")
    args = ap.parse_args()
    fws = args.frameworks.split(",")
    if not args.skip_build:
        subprocess.run(["dotnet", "build", PROJECT, "-c", "Release", "-v", "q", "-nologo"], check=True, cwd=ROOT)

    base = {"OMP_WAIT_POLICY": "PASSIVE", "DOTNET_TC_CallCountingDelayMs": "0"}
    sec = ["--seconds", str(args.seconds)]
    results = {}   # (fw, variant, workload) -> [us per round]
    bytes_per = {}
    peaks = []
    for r in range(args.rounds):
        for group, names, threads in (("1", ONE_THREAD, 1), ("N", ALL_THREADS, args.threads)):
            env = dict(base, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
            jobs = []
            if "cn" in fws:
                jobs.append(("CompiledNets", "", ["dotnet", DLL, "--compare", "cn", "--threads", str(threads)] + sec
                             + (["--peak"] if group == "1" else []) + names, env))
            for variant, extra in (("fresh", {}), ("long-lived", LONG_LIVED)):
                if "ts" in fws:
                    jobs.append(("TorchSharp", variant, ["dotnet", DLL, "--compare", "ts", "--threads", str(threads)] + sec + names,
                                 dict(env, **extra)))
                if "pt" in fws:
                    jobs.append(("PyTorch", variant, [TORCH_PYTHON, os.path.join(HERE, "pytorch_workloads.py"),
                                                      "--threads", str(threads)] + sec + names, dict(env, **extra)))
            k = r % len(jobs)
            for fw, variant, cmd, env_extra in jobs[k:] + jobs[:k]:
                for rec in run(cmd, env_extra):
                    if rec["workload"] == "peak":
                        peaks.append(rec["gflops"])
                        continue
                    results.setdefault((fw, variant, rec["workload"]), []).append(rec["us"])
                    if fw == "CompiledNets":
                        bytes_per.setdefault(rec["workload"], []).append(rec["bytes"])
        sys.stderr.write(f"round {r + 1}/{args.rounds} done\n")

    peak = max(peaks) if peaks else None
    med = lambda key: statistics.median(results[key]) if key in results else None
    print(f"One core's FP32 FMA peak, measured in this run: {peak:.0f} GFLOP/s; {args.rounds} rounds, "
          f"{args.seconds:g} s per workload and process; {args.threads} threads for the all-threads rows.\n" if peak else "")
    print("| workload | PyTorch long-lived (fresh) | TorchSharp long-lived (fresh) | CompiledNets | CN vs PT / TS | "
          "GFLOP/s CN / PT / TS | CN share of peak | CN bytes/step |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in ORDER:
        cn = results.get(("CompiledNets", "", name), [])
        pt_l, pt_f = results.get(("PyTorch", "long-lived", name), []), results.get(("PyTorch", "fresh", name), [])
        ts_l, ts_f = results.get(("TorchSharp", "long-lived", name), []), results.get(("TorchSharp", "fresh", name), [])
        cn_m = statistics.median(cn) if cn else None
        # Ratios against the faster of each framework's two variants (medians over rounds).
        best = lambda a, b: min([statistics.median(v) for v in (a, b) if v], default=None)
        pt_b, ts_b = best(pt_l, pt_f), best(ts_l, ts_f)
        ratio = " / ".join(f"{x / cn_m:.2f}×" if x and cn_m else "–" for x in (pt_b, ts_b))
        gf = " / ".join(f"{flops(name) / x / 1e3:.3g}" if x else "–" for x in (cn_m, pt_b, ts_b))
        threads = args.threads if name in ALL_THREADS else 1
        share = f"{flops(name) / cn_m / 1e3 / (peak * threads) * 100:.0f}%" if cn_m and peak else "–"
        nbytes = f"{statistics.median(bytes_per[name]):.0f}" if name in bytes_per else "–"
        print(f"| {name} | {span(pt_l)} ({span(pt_f)}) | {span(ts_l)} ({span(ts_f)}) | {span(cn)} | {ratio} | {gf} | {share} | {nbytes} |")


if __name__ == "__main__":
    main()
