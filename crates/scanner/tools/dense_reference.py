#!/usr/bin/env python3
"""Dense per-bar numpy reference of the DOLPHIN eigenvalue scanner (SPEC §3, §6 "Scanner").

An implementation independent of the Rust code, written from the SPEC text only:

- rows = union of all symbols' open times; a close that is <= 0 or not finite is missing;
- r_t = ln(close_t / close_{t-1}) between consecutive rows, NaN when either close is missing;
- window w at row t holds the returns of rows t-w+1..t; an asset is in it only with w finite
  returns, and is left out when its variance there is zero (all w returns equal);
- Pearson correlation by the two-pass centred formula, clipped to [-1, 1], diagonal 1;
- lambda_hat_w = lambda_max(C_w) / N_w (numpy.linalg.eigvalsh), NaN with fewer than 2 assets;
- v{w} velocity = lambda_hat_w(t) - lambda_hat_w(t-1), NaN when the window's asset set
  differs from the previous row's;
- instability_w = mean |off-diagonal| of C_w; vel_div = v50 - v{slow}.

Every bar and window is computed from scratch (no state but the previous bar's set and value).

  dense_reference.py run KLINES_DIR --out ref.csv [--slow 750] [--bars A:B]
  dense_reference.py compare ref.csv ours.csv   (both in this script's CSV layout)

`run` prints the time spent on the scan itself (kline loading excluded) and bars/s.
With --bars A:B only rows A..B-1 are written (row A-1 is evaluated too, for the velocity).
"""
import argparse
import gzip
import math
import os
import re
import sys
import time

import numpy as np

WINDOWS = (50, 150, 300, 750)
NAME = re.compile(r"^([A-Za-z0-9]+)-(\d+[smhdw])\.csv(\.gz)?$")
COLUMNS = ["timestamp", "scan_number", "vel_div", "v50_lambda_max_velocity",
           "v150_lambda_max_velocity", "v300_lambda_max_velocity", "v750_lambda_max_velocity",
           "instability_50", "instability_150", "lambda_hat_50", "lambda_hat_150",
           "lambda_hat_300", "lambda_hat_750", "n_50", "n_150", "n_300", "n_750"]
SIGNALS = COLUMNS[2:9]


def read_klines(path):
    """(open_time ms, close) arrays of one Binance kline CSV (header optional)."""
    opener = gzip.open if path.endswith(".gz") else open
    times, closes = [], []
    with opener(path, "rt") as f:
        for k, line in enumerate(f):
            line = line.strip()
            if not line or (k == 0 and line[0].isalpha()):
                continue
            parts = line.split(",")
            t = int(parts[0])
            if t >= 10**14:
                t //= 1000
            times.append(t)
            closes.append(float(parts[4]))
    return np.array(times, dtype=np.int64), np.array(closes, dtype=np.float64)


def load_panel(folder):
    files = []
    for name in os.listdir(folder):
        m = NAME.match(name)
        if m and os.path.isfile(os.path.join(folder, name)):
            files.append((m.group(1), os.path.join(folder, name)))
    if not files:
        sys.exit(f"no SYMBOL-<interval>.csv[.gz] files in {folder}")
    files.sort()
    series = [read_klines(p) for _, p in files]
    times = np.unique(np.concatenate([t for t, _ in series]))
    closes = np.full((len(times), len(files)), np.nan)
    for col, (t, c) in enumerate(series):
        closes[np.searchsorted(times, t), col] = c
    closes[~(np.isfinite(closes) & (closes > 0))] = np.nan
    return [s for s, _ in files], times, closes


def window_eval(ret, t, w):
    """(member indices, lambda_hat, instability) of window w at row t."""
    if t + 1 < w:
        return (), math.nan, math.nan
    x = ret[t + 1 - w:t + 1]
    finite = np.isfinite(x).all(axis=0)
    members = np.flatnonzero(finite)
    xm = x[:, members]
    varying = xm.max(axis=0) != xm.min(axis=0)  # zero variance <=> all w returns equal
    members = members[varying]
    n = len(members)
    if n < 2:
        return tuple(members), math.nan, math.nan
    z = xm[:, varying]
    z = z - z.sum(axis=0) / w                     # pass 1: means; pass 2: centred products
    ss = (z * z).sum(axis=0)
    c = (z.T @ z) / np.sqrt(np.outer(ss, ss))
    np.clip(c, -1.0, 1.0, out=c)
    np.fill_diagonal(c, 1.0)
    lam = np.linalg.eigvalsh(c)[-1]
    instab = (np.abs(c).sum() - n) / (n * (n - 1))
    return tuple(members), lam / n, instab


def run(args):
    symbols, times, closes = load_panel(args.klines)
    rows = len(times)
    a, b = 0, rows
    if args.bars:
        lo, hi = args.bars.split(":")
        a, b = int(lo or 0), min(int(hi or rows), rows)
    slow = WINDOWS.index(args.slow)
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = np.full_like(closes, np.nan)
        ret[1:] = np.log(closes[1:] / closes[:-1])
    prev = [((), math.nan)] * 4
    out = []
    first = max(a - 1, 0)
    for t in range(first, b):
        lam, vel, ins, cnt = [], [], [], []
        for k, w in enumerate(WINDOWS):
            m, lh, instab = window_eval(ret, t, w)
            pm, pl = prev[k]
            vel.append(lh - pl if (t > 0 and m == pm) else math.nan)
            prev[k] = (m, lh)
            lam.append(lh)
            ins.append(instab)
            cnt.append(len(m))
        if t < a:
            continue
        out.append([int(times[t]), t, vel[0] - vel[slow], *vel, ins[0], ins[1], *lam, *cnt])
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    evaluated = b - first
    with open(args.out, "w") as f:
        f.write(",".join(COLUMNS) + "\n")
        for r in out:
            f.write(",".join(repr(float(v)) if k >= 2 and k < 13 else str(int(v))
                             for k, v in enumerate(r)) + "\n")
    print(f"numpy dense reference: {len(symbols)} assets, rows {a}..{b} of {rows} "
          f"({evaluated} bars evaluated) in {wall:.2f} s wall, {cpu:.2f} s CPU: "
          f"{evaluated / wall:.2f} bars/s wall, {evaluated / max(cpu, 1e-9):.2f} bars/s CPU "
          f"(numpy {np.__version__})")


def read_csv(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
        data = {}
        for line in f:
            parts = line.strip().split(",")
            data[int(parts[header.index("scan_number")])] = {
                h: float(v) for h, v in zip(header, parts)}
    return header, data


def compare(args):
    _, ref = read_csv(args.ref)
    _, ours = read_csv(args.ours)
    worst, nan_mismatch, compared = 0.0, 0, 0
    for sn, r in ref.items():
        if sn not in ours:
            sys.exit(f"row {sn} missing from {args.ours}")
        o = ours[sn]
        for c in SIGNALS:
            x, y = r[c], o[c]
            if math.isnan(x) != math.isnan(y):
                nan_mismatch += 1
            elif not math.isnan(x):
                worst = max(worst, abs(x - y))
            compared += 1
    print(f"{compared} values over {len(ref)} rows: max |diff| {worst:.3e}, "
          f"NaN-pattern mismatches {nan_mismatch}")
    if worst > args.tol or nan_mismatch:
        sys.exit(1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("klines")
    r.add_argument("--out", required=True)
    r.add_argument("--slow", type=int, default=750, choices=WINDOWS[1:])
    r.add_argument("--bars")
    c = sub.add_parser("compare")
    c.add_argument("ref")
    c.add_argument("ours")
    c.add_argument("--tol", type=float, default=1e-9)
    a = p.parse_args()
    run(a) if a.cmd == "run" else compare(a)


if __name__ == "__main__":
    main()
