#!/usr/bin/env python3
"""The paper's training experiment (issue 15), one script, one run: a model trained for a fixed
number of steps (bf16 autocast, channels-last, SGD) from four inputs, in two settings.

Inputs: synthetic batches already on the GPU (the ceiling); PNG decoded by PIL in a 16-worker
torch DataLoader; JPEG q90 decoded by nvJPEG (torchvision.io.decode_jpeg on the GPU); l3.Loader.
Settings: a classifier (torchvision resnet50) on RandomResizedCrop 224 + flip of 2048x1024
images, batch 64; a dense model (torchvision lraspp_mobilenet_v3_large) on full 2048x1024 images,
batch 8. Images: the carried PNGs as RGB, tiled to 2048x1024 with a shift per copy (as
bench/loader/anchors.py), as PNG (level 6), JPEG q90 and an L3 dataset (l3.convert, N = 16).
Also the hand-off's cost: l3.Loader's raw batches (no torch) against its torch tensors.

Usage: train.py PNG_DIR WORK_DIR [images=512] [steps=15] [handoff|prepare]   (handoff: only the hand-off's
cost, in longer blocks and more rounds; prepare: only the images and the L3 dataset, WORK_DIR/dataset-l3-IMAGES,
for ranks.py)"""
import glob
import json
import multiprocessing
import os
import sys
import time

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision.transforms import v2 as T

import l3

png_dir, work = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 512
steps = int(sys.argv[4]) if len(sys.argv) > 4 else 15
mode = sys.argv[5] if len(sys.argv) > 5 else "all"  # all, handoff (the hand-off alone) or prepare (the data only)
handoff_only = mode == "handoff"
W, H, WARMUP = 2048, 1024, 3
dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # the CPU: only for prepare
cores = os.cpu_count()
files = os.path.join(work, "files")
bases = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(glob.glob(os.path.join(png_dir, "*.png")))]


def make(i):
    folder = os.path.join(files, f"class{i % 10}")
    png, jpg = os.path.join(folder, f"{i:05d}.png"), os.path.join(work, "jpeg", f"{i:05d}.jpg")
    if os.path.exists(png) and os.path.exists(jpg):
        return
    os.makedirs(folder, exist_ok=True)
    os.makedirs(os.path.dirname(jpg), exist_ok=True)
    b = bases[i % len(bases)]
    ys = (np.arange(H) + i * 71 % H) % b.shape[0]
    xs = (np.arange(W) + i * 131 % W) % b.shape[1]
    tile = Image.fromarray(b[ys][:, xs])
    tile.save(png + ".tmp", format="PNG", compress_level=6)
    tile.save(jpg + ".tmp", format="JPEG", quality=90)
    os.replace(png + ".tmp", png)
    os.replace(jpg + ".tmp", jpg)


def busy_seconds():
    """The whole machine's busy CPU time (user, nice, system, irq, softirq), workers included."""
    fields = open("/proc/stat").readline().split()[1:]
    return sum(int(fields[i]) for i in (0, 1, 2, 5, 6)) / os.sysconf("SC_CLK_TCK")


MEAN = torch.tensor(l3.IMAGENET_MEAN, device=dev).view(1, 3, 1, 1) * 255
STD = torch.tensor(l3.IMAGENET_STD, device=dev).view(1, 3, 1, 1) * 255


def normalize(x):
    return ((x.float() - MEAN) / STD).half().contiguous(memory_format=torch.channels_last)


def synthetic(batch, crop):
    side = (224, 224) if crop else (H, W)
    x = torch.randn(batch, 3, *side, device=dev).half().contiguous(memory_format=torch.channels_last)
    while True:
        yield x


class PngSet(torch.utils.data.Dataset):
    def __init__(self, paths, crop):
        self.paths, self.crop = paths, crop

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        img = T.functional.pil_to_tensor(Image.open(self.paths[i]).convert("RGB"))
        if self.crop:
            img = T.RandomHorizontalFlip()(T.RandomResizedCrop(224, antialias=False)(img))
        return img


def pil_png(batch, crop):
    pngs = sorted(glob.glob(os.path.join(files, "*", "*.png")))
    loader = torch.utils.data.DataLoader(PngSet(pngs, crop), batch_size=batch, shuffle=True, num_workers=16,
                                         persistent_workers=True, pin_memory=True, drop_last=True, prefetch_factor=4)
    while True:
        for x in loader:
            yield normalize(x.to(dev, non_blocking=True))


def nvjpeg(batch, crop):
    datas = [torchvision.io.read_file(f) for f in sorted(glob.glob(os.path.join(work, "jpeg", "*.jpg")))]
    rrc, flip = T.RandomResizedCrop(224, antialias=False), T.RandomHorizontalFlip()
    while True:
        order = torch.randperm(len(datas))
        for s in range(0, len(datas) - batch + 1, batch):
            imgs = torchvision.io.decode_jpeg([datas[i] for i in order[s:s + batch]], device=dev)
            yield normalize(torch.stack([flip(rrc(im)) for im in imgs]) if crop else torch.stack(imgs))


def l3_loader(batch, crop, **extra):
    settings = dict(size=224) if crop else dict(size=None, crop="full", flip=False)
    loader = l3.Loader(dataset, batch_size=batch, dtype="float16", channels_last=True, seed=1, readers=cores, **settings, **extra)
    while True:
        for x, _ in loader:
            yield x


def train(name, model, batch, crop, source, dense_classes):
    it = source(batch, crop)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    labels = (torch.randint(0, dense_classes, (batch, H, W), device=dev) if dense_classes
              else torch.randint(0, 10, (batch,), device=dev))

    def step(x):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = model(x)
            out = out["out"] if isinstance(out, dict) else out
            loss = torch.nn.functional.cross_entropy(out.float(), labels[:x.shape[0]])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(WARMUP):
        step(next(it))
    torch.cuda.synchronize()
    t0, busy0, n = time.time(), busy_seconds(), 0
    for _ in range(steps):
        x = next(it)
        step(x)
        n += x.shape[0]
    torch.cuda.synchronize()
    dt = time.time() - t0
    return n / dt, (busy_seconds() - busy0) / dt


def handoff(batch, crop, batches, rounds):
    """l3.Loader's own rate (raw batches, released at once) against the same loader's batches as
    torch tensors (zero copy, and copied; a torch kernel reads each), in blocks of one loader. Each
    round runs the three modes, in reverse order every other round (so that no mode always follows
    the same one), each block after untimed batches of its own mode (the prefetch queue in that
    mode's steady state). Returns per mode the median rate and, against raw, the median, min and
    max of the rounds' paired ratios (tensors / raw of the same round)."""
    settings = dict(size=224) if crop else dict(size=None, crop="full", flip=False)
    modes = ("raw", "zero-copy tensors", "copied tensors")
    rates = {mode: [] for mode in modes}
    with l3.Loader(dataset, batch_size=batch, dtype="float16", channels_last=True, seed=1, readers=cores, **settings) as loader:
        def block(mode, n):
            loader.copy = mode == "copied tensors"
            for _ in range(n):
                if mode == "raw":
                    loader.next_batch().release()
                else:
                    x, _ = loader.next()
                    x.sum()  # a kernel reads the batch (ordered after its ready event)
                    del x

        block("raw", 5)
        for r in range(rounds):
            for mode in (modes if r % 2 == 0 else modes[::-1]):
                block(mode, max(8, batches // 10))
                torch.cuda.synchronize()
                t0 = time.time()
                block(mode, batches)
                torch.cuda.synchronize()
                rates[mode].append(batch * batches / (time.time() - t0))
    median = lambda v: sorted(v)[len(v) // 2] if len(v) % 2 else sum(sorted(v)[len(v) // 2 - 1:len(v) // 2 + 1]) / 2
    out = {}
    for mode in modes:
        ratios = [a / b for a, b in zip(rates[mode], rates["raw"])]
        out[mode] = (median(rates[mode]), median(ratios), min(ratios), max(ratios))
    print(f"  hand-off rounds, images/s: " + "; ".join(f"{m}: " + " ".join(f"{v:.0f}" for v in rates[m]) for m in modes), flush=True)
    return out


if __name__ == "__main__":
    t0 = time.time()
    with multiprocessing.Pool(cores) as pool:
        pool.map(make, range(count))
    dataset = os.path.join(work, f"dataset-l3-{count}")
    if not os.path.exists(os.path.join(dataset, "dataset.json")):
        print(json.dumps(l3.convert(files, dataset, patch_size=16, jobs=cores)))
    print(f"{count} images of {W}x{H} as PNG, JPEG q90 and L3 ready in {time.time() - t0:.0f} s: {dataset}", flush=True)
    if mode == "prepare":
        sys.exit(0)
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, torchvision {torchvision.__version__}, "
          f"{cores} cores, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {steps} timed steps after {WARMUP}", flush=True)

    settings = [("classifier: resnet50, RandomResizedCrop 224 + flip, batch 64", True, 64,
                 lambda: torchvision.models.resnet50(num_classes=10), 0),
                ("dense: lraspp_mobilenet_v3_large, full 2048x1024, batch 8", False, 8,
                 lambda: torchvision.models.segmentation.lraspp_mobilenet_v3_large(num_classes=19, weights=None,
                                                                                    weights_backbone=None), 19)]
    inputs = [("synthetic on GPU (ceiling)", synthetic), ("PNG, PIL, 16 workers", pil_png),
              ("JPEG q90, nvJPEG", nvjpeg), ("l3.Loader", l3_loader)]
    rows = []
    for title, crop, batch, make_model, dense in ([] if handoff_only else settings):
        torch.manual_seed(0)
        model = make_model().to(dev).to(memory_format=torch.channels_last)
        ceiling = None
        results = {}
        for name, source in inputs:
            rate, busy = train(name, model, batch, crop, source, dense)
            ceiling = ceiling or rate
            results[name] = rate
            rows.append(f"| {title} | {name} | {rate:.0f} | {rate / ceiling:.2f} | {busy:.1f} |")
            print(rows[-1], flush=True)
        rows.append(f"| {title} | l3.Loader speed-up | over PNG {results['l3.Loader'] / results['PNG, PIL, 16 workers']:.2f}x, "
                    f"over nvJPEG {results['l3.Loader'] / results['JPEG q90, nvJPEG']:.2f}x | | |")
        print(rows[-1], flush=True)
        del model
        torch.cuda.empty_cache()

    handoffs = []
    scale, rounds = (8, 8) if handoff_only else (1, 4)
    for title, crop, batch, batches in (("RandomResizedCrop 224, batch 64", True, 64, 30 * scale), ("full 2048x1024, batch 8", False, 8, 60 * scale)):
        r = handoff(batch, crop, batches, rounds)
        cell = lambda m: f"{r[m][0]:.0f} ({r[m][1]:.3f}, {r[m][2]:.3f}..{r[m][3]:.3f})"
        handoffs.append(f"| {title} | {r['raw'][0]:.0f} | {cell('zero-copy tensors')} | {cell('copied tensors')} |")
        print(handoffs[-1], flush=True)

    if rows:
        print("\n| setting | input | images/s | of ceiling | CPU cores busy |\n| --- | --- | --- | --- | --- |")
        print("\n".join(rows))
    print(f"\n| hand-off, l3.Loader fp16 NHWC, no training, {rounds} rounds (medians) | raw batches (images/s) | "
          f"zero-copy torch tensors (ratio to raw: median, min..max of rounds) | copied tensors (ratio) |"
          "\n| --- | --- | --- | --- |")
    print("\n".join(handoffs))
