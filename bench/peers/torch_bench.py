#!/usr/bin/env python3
"""The benchmark network (docs/BENCH_NET.md) in PyTorch eager: unmix's peer on a CUDA GPU.

Timed as unmix and its other peers are: each step mixes its batch on the device (indices from a
pool of random 32x32 images resident on the device, averaged), then forward, loss, backward and
Adam (lr 1e-3); batch norm in training mode; no read-back or synchronisation inside the timed loop,
torch.cuda.synchronize() only at its ends. cudnn.benchmark is on; TF32 is measured off and on.

    python3 bench/peers/torch_bench.py                       # CUDA if available, else CPU
    python3 bench/peers/torch_bench.py --device cpu --batch 8 --warmup 1 --steps 2 --out /tmp/t.json

Prints a table and writes a list of rows in the shape of bench/results/train-step.json's runs.
"""

import argparse
import json
import platform
import time

import torch
from torch import nn

PARAMETERS = 472_290
POOL_BATCHES = 4
IMAGE = 32


def block(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1),
        nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1),
        nn.ReLU(),
    )


class BenchNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1, self.enc2, self.mid = block(1, 32), block(32, 64), block(64, 128)
        self.dec2, self.dec1 = block(192, 64), block(96, 32)
        self.digit, self.item = nn.Conv2d(32, 1, 1), nn.Conv2d(32, 1, 1)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        m = self.mid(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up(m), e2], 1))
        d1 = self.dec1(torch.cat([self.up(d2), e1], 1))
        return torch.sigmoid(self.digit(d1)), torch.sigmoid(self.item(d1))


def adapter_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def run(device, batch, warmup, steps, tf32):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.manual_seed(0)
    model = BenchNet().to(device).train()
    count = sum(p.numel() for p in model.parameters())
    if count != PARAMETERS:
        raise SystemExit(f"torch_bench: the network has {count} parameters, BENCH_NET.md says {PARAMETERS}")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    generator = torch.Generator(device=device).manual_seed(1)
    pool = POOL_BATCHES * batch
    digits = torch.rand(pool, 1, IMAGE, IMAGE, device=device, generator=generator)
    items = torch.rand(pool, 1, IMAGE, IMAGE, device=device, generator=generator)
    lanes = torch.arange(batch, device=device)
    counter = torch.zeros((), dtype=torch.long, device=device)

    def step():
        # The batch's indices come from a step counter on the device, as in the other peers.
        d = digits[(counter * batch + lanes) % pool]
        i = items[(counter * 7 * batch + 3 * lanes + 1) % pool]
        counter.add_(1)
        pred_digit, pred_item = model((d + i) / 2)
        loss = (nn.functional.mse_loss(pred_digit, d) + nn.functional.mse_loss(pred_item, i)) / 2
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    sync()
    t0 = time.perf_counter()
    loss = step()
    loss.item()
    first_ms = (time.perf_counter() - t0) * 1000
    for _ in range(1, warmup):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        loss = step()
    sync()
    ms_per_step = (time.perf_counter() - start) * 1000 / steps
    cuda = device.type == "cuda"
    return {
        "framework": f"pytorch-{'cuda' if cuda else 'cpu'}-eager" + (", TF32" if tf32 and cuda else ""),
        "environment": f"PyTorch {torch.__version__}" + (f", CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}" if cuda else ""),
        "adapter": adapter_name(device),
        "batch": batch,
        "warmupSteps": warmup,
        "timedSteps": steps,
        "firstStepMs": first_ms,
        "msPerStep": ms_per_step,
        "samplesPerS": batch * 1000 / ms_per_step,
        "gpuMemoryBytes": torch.cuda.max_memory_allocated(device) if cuda else None,
        "memoryNote": "torch.cuda.max_memory_allocated: peak of the caching allocator's tensors, the image pool included"
        if cuda
        else "not measured on the CPU",
        "loss": loss.item(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--out", default="bench/results/torch-train-step.json")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    # TF32 changes the arithmetic (10-bit mantissas in matmuls and convolutions), so both are
    # reported; the first is the f32 that unmix computes in.
    rows = [run(device, args.batch, args.warmup, args.steps, tf32) for tf32 in ([False, True] if device.type == "cuda" else [False])]
    print(f"{'framework':<28} {'adapter':<34} {'batch':>5} {'ms/step':>9} {'samples/s':>10} {'first step':>11}")
    for r in rows:
        print(
            f"{r['framework']:<28} {r['adapter'][:34]:<34} {r['batch']:>5} {r['msPerStep']:>9.2f} {r['samplesPerS']:>10.1f} {r['firstStepMs'] / 1000:>9.2f} s"
        )
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=2)
        f.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
