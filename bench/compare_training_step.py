#!/usr/bin/python3
"""Side by side: one training step of the transformer in iclbench and in PyTorch eager, on the CPU.

A step is everything a training loop does per update: sample a batch of linear-regression prompts,
interleave them into tokens, forward, MSE loss, backward, clip the gradient norm to 1.0, AdamW.
iclbench runs it through Trainer::step (bench/bench_train_step); PyTorch (the OS package,
python3-torch, with OpenBLAS) runs the same model (GPT-2 blocks, pre-LN LayerNorm, GELU tanh,
learned positions, Garg et al.'s linear read-in and read-out; the parameter counts are checked to
match) with torch.randn prompts, torch.optim.AdamW and clip_grad_norm_. Both use the same number of
threads. Two models:

  quickstart     configs/quickstart.yaml: 3 layers, 2 heads, width 64, d = 5, K = 15, batch 64
  garg_small     Garg et al.'s small model: 6 layers, 4 heads, width 128, d = 20, K = 41, batch 64
  garg_standard  Garg et al.'s standard model: 12 layers, 8 heads, width 256, d = 20, K = 41,
                 batch 64 (a step takes seconds: its steps are capped at --max-standard-steps)

Prints the median milliseconds per step of each (median over --rounds alternating rounds, with the
range) and the ratio (PyTorch time / iclbench time, so > 1 means iclbench is faster). On a busy
machine the numbers move a lot: run it when the machine is otherwise idle, and compare --threads 1
and --omp-wait-policy passive (both implementations use OpenMP; PyTorch also OpenBLAS's threads).

    /usr/bin/python3 bench/compare_training_step.py [--build build] [--steps 20] [--warmup 3]
        [--rounds 3] [--threads N] [--omp-wait-policy passive|active] [--models ...]
"""
import argparse
import math
import os
import statistics
import subprocess
import sys
import time

MODELS = {
    "quickstart": dict(n_layer=3, n_head=2, n_embd=64, d=5, K=15, B=64),
    "garg_small": dict(n_layer=6, n_head=4, n_embd=128, d=20, K=41, B=64),
    "garg_standard": dict(n_layer=12, n_head=8, n_embd=256, d=20, K=41, B=64),
}


def default_threads():
    """What iclbench's OpenMP uses by default: $OMP_NUM_THREADS, else the CPUs we may run on."""
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0]
    if env.isdigit() and int(env) > 0:
        return int(env)
    return len(os.sched_getaffinity(0))


def build_torch_model(torch, n_layer, n_head, n_embd, d, K):
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(n_embd, eps=1e-5)
            self.qkv = nn.Linear(n_embd, 3 * n_embd)
            self.proj = nn.Linear(n_embd, n_embd)
            self.ln2 = nn.LayerNorm(n_embd, eps=1e-5)
            self.fc = nn.Linear(n_embd, 4 * n_embd)
            self.fc_out = nn.Linear(4 * n_embd, n_embd)

        def attention(self, x, mask):
            B, T, C = x.shape
            hd = C // n_head
            q, k, v = self.qkv(x).split(C, dim=-1)
            q, k, v = (t.view(B, T, n_head, hd).transpose(1, 2) for t in (q, k, v))
            s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
            p = F.softmax(s.masked_fill(mask, float("-inf")), dim=-1)
            return self.proj((p @ v).transpose(1, 2).reshape(B, T, C))

        def forward(self, x, mask):
            x = x + self.attention(self.ln1(x), mask)
            return x + self.fc_out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.read_in = nn.Linear(d, n_embd)
            self.pos = nn.Parameter(torch.zeros(2 * K, n_embd))
            self.blocks = nn.ModuleList(Block() for _ in range(n_layer))
            self.ln_f = nn.LayerNorm(n_embd, eps=1e-5)
            self.read_out = nn.Linear(n_embd, 1)
            for name, p in self.named_parameters():  # GPT-2 initialisation (as iclbench)
                if name.startswith(("read_in", "read_out")):
                    continue
                if name.endswith("bias"):
                    nn.init.zeros_(p)
                elif ".ln" in name or name.startswith("ln_f"):
                    nn.init.ones_(p)
                elif name.endswith(("proj.weight", "fc_out.weight")):
                    nn.init.normal_(p, std=0.02 / math.sqrt(2 * n_layer))
                else:
                    nn.init.normal_(p, std=0.02)

        def forward(self, xs, ys):
            B, Kn, dn = xs.shape
            # Garg et al.'s _combine: tokens x_1, (y_1, 0..0), x_2, ...
            ys_wide = torch.cat((ys, torch.zeros(B, Kn, dn - 1, device=xs.device)), dim=2)
            zs = torch.stack((xs, ys_wide), dim=2).view(B, 2 * Kn, dn)
            T = 2 * Kn
            mask = torch.ones(T, T, dtype=torch.bool, device=xs.device).triu(1)
            h = self.read_in(zs) + self.pos[:T]
            for blk in self.blocks:
                h = blk(h, mask)
            return self.read_out(self.ln_f(h))[:, 0::2, :]

    return Model()


def time_torch(torch, cfg, steps, warmup):
    torch.manual_seed(0)
    model = build_torch_model(torch, cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["d"],
                              cfg["K"])
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=0.0)
    B, K, d = cfg["B"], cfg["K"], cfg["d"]
    times = []
    for s in range(warmup + steps):
        t0 = time.perf_counter()
        xs = torch.randn(B, K, d)
        w = torch.randn(B, d, 1)
        ys = xs @ w
        pred = model(xs, ys)
        loss = (pred - ys).square().mean()
        opt.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if not (math.isfinite(loss.item()) and math.isfinite(norm.item())):
            sys.exit("compare_training_step.py: PyTorch loss diverged")
        if s >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), n_params


def time_iclbench(exe, cfg, steps, warmup):
    args = [exe] + [f"{k}={v}" for k, v in cfg.items()] + [f"steps={steps}", f"warmup={warmup}"]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    vals = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
    return float(vals["median_ms"]), int(vals["parameters"]), int(vals["threads"])


def blas_library():
    """The BLAS shared library this process has loaded (after torch did a matmul)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and ".so" in line}
        return ", ".join(sorted(os.path.basename(x) for x in libs)) or "none found"
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser(
        description="Time one training step of iclbench's transformer against PyTorch eager (CPU).")
    ap.add_argument("--build", default="build", help="CMake build directory (default: build)")
    ap.add_argument("--steps", type=int, default=20, help="timed steps per run (median reported)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=0,
                    help="threads for both (default: iclbench's default, $OMP_NUM_THREADS or all "
                         "CPUs)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds, each running iclbench then PyTorch (alternating, so a change in "
                         "machine load hits both); the table shows the median over rounds and the "
                         "range (default 3)")
    ap.add_argument("--omp-wait-policy", choices=["passive", "active"],
                    help="set OMP_WAIT_POLICY for both (default: leave the environment as it is). "
                         "PyTorch's OpenMP threads spinning next to OpenBLAS's own threads can make "
                         "its multi-threaded steps slower than single-threaded ones; passive avoids "
                         "that")
    ap.add_argument("--max-standard-steps", type=int, default=5,
                    help="timed steps of garg_standard (after one warm-up step), whatever --steps "
                         "says: a step takes seconds (default 5)")
    ap.add_argument("--models", default=",".join(MODELS),
                    help=f"comma-separated subset of {', '.join(MODELS)}")
    args = ap.parse_args()
    exe = os.path.join(args.build, "bench", "bench_train_step")
    if not os.access(exe, os.X_OK):
        sys.exit(f"compare_training_step.py: error: {exe} not built (cmake --build {args.build})")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in MODELS:
            sys.exit(f"compare_training_step.py: error: unknown model '{m}' "
                     f"(known: {', '.join(MODELS)})")

    threads = args.threads or default_threads()
    # Same thread count everywhere: iclbench's OpenMP, PyTorch's intra-op pool, OpenBLAS's own pool
    # (read when the library loads, so set before importing torch).
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    if args.omp_wait_policy:
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy.upper()
    try:
        import torch
    except ImportError:
        sys.exit("compare_training_step.py: error: PyTorch is not installed "
                 "(apt-get install python3-torch libopenblas0-pthread)")
    torch.set_num_threads(threads)
    torch.randn(64, 64) @ torch.randn(64, 64)  # load BLAS

    print(f"threads: {threads} (iclbench OpenMP and PyTorch torch.get_num_threads() = "
          f"{torch.get_num_threads()})")
    print(f"OMP_WAIT_POLICY: {os.environ.get('OMP_WAIT_POLICY', 'not set (OpenMP default)')}")
    print(f"PyTorch {torch.__version__}, BLAS: {blas_library()}")
    print("torch.compile: not available in this PyTorch (1.13)")
    print(f"median of {args.steps} steps after {args.warmup} warm-up steps (garg_standard: "
          f"{min(args.steps, args.max_standard_steps)} after {min(args.warmup, 1)}); "
          f"ratio = torch / iclbench")
    print()
    rows = []
    for m in models:
        cfg = MODELS[m]
        icl_runs, torch_runs = [], []
        steps, warmup = args.steps, args.warmup
        if m == "garg_standard":
            steps, warmup = min(steps, args.max_standard_steps), min(warmup, 1)
        for _ in range(max(1, args.rounds)):
            icl_ms, icl_params, icl_threads = time_iclbench(exe, cfg, steps, warmup)
            torch_ms, torch_params = time_torch(torch, cfg, steps, warmup)
            if icl_params != torch_params:
                sys.exit(f"compare_training_step.py: error: {m}: iclbench has {icl_params} "
                         f"parameters, the PyTorch model {torch_params}; not the same model")
            if icl_threads != threads:
                sys.exit(f"compare_training_step.py: error: iclbench ran with {icl_threads} "
                         f"threads, expected {threads}")
            icl_runs.append(icl_ms)
            torch_runs.append(torch_ms)
        shape = (f"L={cfg['n_layer']} H={cfg['n_head']} C={cfg['n_embd']} d={cfg['d']} "
                 f"K={cfg['K']} B={cfg['B']}")
        rows.append((m, shape, icl_params, icl_runs, torch_runs))

    def cell(runs):
        return f"{statistics.median(runs):.2f} [{min(runs):.1f}-{max(runs):.1f}]"

    print(f"{'model':<14} {'shape':<34} {'params':>9} {'iclbench ms/step':>24}"
          f" {'torch eager ms/step':>24} {'ratio':>6}")
    for m, shape, n, a, b in rows:
        print(f"{m:<14} {shape:<34} {n:>9} {cell(a):>24} {cell(b):>24}"
              f" {statistics.median(b) / statistics.median(a):>6.2f}")
    print("(median over rounds [range]; ratio = torch / iclbench, > 1: iclbench faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
