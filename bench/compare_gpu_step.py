#!/usr/bin/python3
"""Side by side on the GPU: one training step of the transformer in iclbench, PyTorch eager and
torch.compile, at the same precision, with iclbench's model-FLOP utilisation.

A step is what a training loop does per update: sample a batch of linear-regression prompts,
interleave them into tokens, forward, MSE loss, backward, clip the gradient norm to 1.0, AdamW.
iclbench runs it through Trainer::step on the GPU (bench/bench_train_step device=cuda: the
captured CUDA graph, with the next prompts sampled on the CPU meanwhile). PyTorch runs the same
model (the one of bench/compare_training_step.py, parameter counts checked) with prompts drawn on
the GPU, torch.optim.AdamW (foreach) and clip_grad_norm_; torch.compile compiles the model's
forward (mode "max-autotune-no-cudagraphs" is not used: the default mode is what a researcher
types). Every PyTorch step ends with loss.item(), as iclbench's ends with the loss read back.

Models (batch 64):
  garg_standard  Garg et al.'s standard model: 12 layers, 8 heads, width 256, d = 20, K = 41
  garg_small     6 layers, 4 heads, width 128, d = 20, K = 41
  quickstart     3 layers, 2 heads, width 64, d = 5, K = 15

Precision: --precision tf32 (default: TF32 tensor cores for fp32 matrix products, in both:
torch.backends.cuda.matmul.allow_tf32 = True) or fp32 (strict, both).

MFU = model FLOPs per step / time / peak, with model FLOPs = 6·N·B·T (N parameters, T = 2K
tokens) + 6·L·B·T²·C (causal attention: QKᵀ and PV, forward and backward, half the square),
against the dense peak of the GPU at that precision (--peak-tflops, default H100/H200 SXM:
494.7 TF32, 66.9 fp32).

    /usr/bin/python3 bench/compare_gpu_step.py [--build build] [--steps 50] [--warmup 10]
        [--precision tf32|fp32] [--models garg_standard,garg_small,quickstart] [--no-compile]
"""
import argparse
import math
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_training_step import build_torch_model  # noqa: E402  (same model as the CPU bench)

MODELS = {
    "garg_standard": dict(n_layer=12, n_head=8, n_embd=256, d=20, K=41, B=64),
    "garg_small": dict(n_layer=6, n_head=4, n_embd=128, d=20, K=41, B=64),
    "quickstart": dict(n_layer=3, n_head=2, n_embd=64, d=5, K=15, B=64),
}
PEAK_TFLOPS = {"tf32": 494.7, "fp32": 66.9}


def model_flops(cfg, n_params):
    B, T, L, C = cfg["B"], 2 * cfg["K"], cfg["n_layer"], cfg["n_embd"]
    return 6 * n_params * B * T + 6 * L * B * T * T * C


def time_torch(torch, cfg, steps, warmup, compiled):
    dev = torch.device("cuda")
    torch.manual_seed(0)
    model = build_torch_model(torch, cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["d"],
                              cfg["K"]).to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=0.0)
    fwd = torch.compile(model) if compiled else model
    B, K, d = cfg["B"], cfg["K"], cfg["d"]

    def step():
        xs = torch.randn(B, K, d, device=dev)
        w = torch.randn(B, d, 1, device=dev)
        ys = xs @ w
        loss = (fwd(xs, ys) - ys).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        if not math.isfinite(step()):
            sys.exit("compare_gpu_step.py: PyTorch loss diverged")
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), n_params


def time_iclbench(exe, cfg, steps, warmup, precision):
    args = ([exe] + [f"{k}={v}" for k, v in cfg.items()] +
            [f"steps={steps}", f"warmup={warmup}", "device=cuda", f"precision={precision}"])
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    vals = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
    return float(vals["median_ms"]), int(vals["parameters"]), vals["device"].strip()


def main():
    ap = argparse.ArgumentParser(description="iclbench vs PyTorch eager and torch.compile, one "
                                             "training step on the GPU")
    ap.add_argument("--build", default="build", help="CMake build directory (default: build)")
    ap.add_argument("--steps", type=int, default=50, help="timed steps (median reported)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    ap.add_argument("--precision", choices=["tf32", "fp32"], default="tf32")
    ap.add_argument("--peak-tflops", type=float, default=0.0,
                    help="dense peak of the GPU at this precision (default: H100/H200 SXM)")
    ap.add_argument("--models", default=",".join(MODELS),
                    help=f"comma-separated subset of {', '.join(MODELS)}")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    args = ap.parse_args()
    exe = os.path.join(args.build, "bench", "bench_train_step")
    if not os.access(exe, os.X_OK):
        sys.exit(f"compare_gpu_step.py: error: {exe} not built (cmake --build {args.build})")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in MODELS:
            sys.exit(f"compare_gpu_step.py: error: unknown model '{m}' (known: {', '.join(MODELS)})")
    try:
        import torch
    except ImportError:
        sys.exit("compare_gpu_step.py: error: PyTorch is not installed")
    if not torch.cuda.is_available():
        sys.exit("compare_gpu_step.py: error: no GPU visible to PyTorch")
    tf32 = args.precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    can_compile = hasattr(torch, "compile") and not args.no_compile
    peak = args.peak_tflops or PEAK_TFLOPS[args.precision]
    print(f"GPU: {torch.cuda.get_device_name(0)}; PyTorch {torch.__version__}; precision "
          f"{args.precision}; peak {peak} TFLOP/s; median of {args.steps} steps after "
          f"{args.warmup} warm-up steps")
    print(f"{'model':<14} {'params':>9} {'iclbench ms':>12} {'eager ms':>9} {'compile ms':>11}"
          f" {'eager/icl':>10} {'compile/icl':>12} {'icl MFU':>8}")
    for m in models:
        cfg = MODELS[m]
        icl_ms, n, device = time_iclbench(exe, cfg, args.steps, args.warmup, args.precision)
        eager_ms, n_torch = time_torch(torch, cfg, args.steps, args.warmup, False)
        if n != n_torch:
            sys.exit(f"compare_gpu_step.py: error: {m}: iclbench has {n} parameters, PyTorch "
                     f"{n_torch}; not the same model")
        comp_ms = (time_torch(torch, cfg, args.steps, args.warmup, True)[0]
                   if can_compile else float("nan"))
        mfu = model_flops(cfg, n) / (icl_ms * 1e-3) / (peak * 1e12)
        print(f"{m:<14} {n:>9} {icl_ms:>12.3f} {eager_ms:>9.3f} {comp_ms:>11.3f}"
              f" {eager_ms / icl_ms:>10.2f} {comp_ms / icl_ms:>12.2f} {100 * mfu:>7.2f}%")
    print(f"(iclbench device: {device}; ratios > 1: iclbench faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
