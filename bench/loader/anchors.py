#!/usr/bin/env python3
"""The issue's anchors for the loader, on the same machine and images (bench/loader/run.sh):
PNG decoded by PIL in a 16-worker torch DataLoader and JPEG q90 decoded by nvJPEG
(torchvision.io.decode_jpeg on the GPU), both RandomResizedCrop 224 + flip, normalized to fp16 on
the GPU, batches of 64; and full 2048x1024 images. Images: every carried PNG as RGB, tiled to
2048x1024 with the shift per copy the .NET bench uses ((i*131) % W, (i*71) % H).
Usage: anchors.py PNG_DIR WORK_DIR [images=512] [batches=20]"""
import os, sys, time, glob
import numpy as np
import torch, torchvision
from PIL import Image
from torchvision.transforms import v2 as T

png_dir, work = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 512
batches = int(sys.argv[4]) if len(sys.argv) > 4 else 20
W, H, B = 2048, 1024, 64
out = os.path.join(work, "anchor-images")
os.makedirs(out, exist_ok=True)
bases = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(glob.glob(os.path.join(png_dir, "*.png")))]

def make(i):
    png, jpg = os.path.join(out, f"{i:05d}.png"), os.path.join(out, f"{i:05d}.jpg")
    if os.path.exists(png) and os.path.exists(jpg): return
    b = bases[i % len(bases)]
    ys = (np.arange(H) + i * 71 % H) % b.shape[0]; xs = (np.arange(W) + i * 131 % W) % b.shape[1]
    tile = Image.fromarray(b[ys][:, xs])
    tile.save(png + ".tmp", format="PNG", compress_level=6); tile.save(jpg + ".tmp", format="JPEG", quality=90)
    os.replace(png + ".tmp", png); os.replace(jpg + ".tmp", jpg)

class PngSet(torch.utils.data.Dataset):
    def __init__(self, files, crop): self.files, self.crop = files, crop
    def __len__(self): return len(self.files)
    def __getitem__(self, i):
        img = T.functional.pil_to_tensor(Image.open(self.files[i]).convert("RGB"))
        if self.crop: img = T.RandomHorizontalFlip()(T.RandomResizedCrop(224, antialias=False)(img))
        return img


if __name__ == "__main__":
    import multiprocessing
    t0 = time.time()
    with multiprocessing.Pool(os.cpu_count()) as pool: pool.map(make, range(count))
    print(f"{count} PNG and JPEG q90 images ready in {time.time() - t0:.0f} s", flush=True)
    pngs = sorted(glob.glob(os.path.join(out, "*.png")))[:count]
    jpgs = sorted(glob.glob(os.path.join(out, "*.jpg")))[:count]
    dev = torch.device("cuda")
    mean = torch.tensor([0.485, 0.456, 0.406], device=dev).view(1, 3, 1, 1) * 255
    std = torch.tensor([0.229, 0.224, 0.225], device=dev).view(1, 3, 1, 1) * 255

    def busy_seconds():
        # the whole machine's busy CPU time (user, nice, system, irq, softirq), workers included
        fields = open("/proc/stat").readline().split()[1:]
        return sum(int(fields[i]) for i in (0, 1, 2, 5, 6)) / os.sysconf("SC_CLK_TCK")

    def rate(make_batches, label):
        it = make_batches(); next(it)  # warm-up
        t0 = time.time(); n = 0; busy0 = busy_seconds()
        for _ in range(batches):
            x = next(it); x = ((x.float() - mean) / std).half(); n += x.shape[0]
        torch.cuda.synchronize(); dt = time.time() - t0
        print(f"| {label} | {n / dt:.0f} | {(busy_seconds() - busy0) / dt:.1f} |", flush=True)

    def pil_batches(crop):
        loader = torch.utils.data.DataLoader(PngSet(pngs, crop), batch_size=B, shuffle=True, num_workers=16,
                                             persistent_workers=True, pin_memory=True, drop_last=True, prefetch_factor=4)
        def gen():
            while True:
                for x in loader: yield x.to(dev, non_blocking=True)
        return gen

    def nvjpeg_batches(crop):
        datas = [torchvision.io.read_file(f) for f in jpgs]
        rrc, flip = T.RandomResizedCrop(224, antialias=False), T.RandomHorizontalFlip()
        def gen():
            while True:
                order = torch.randperm(len(datas))
                for s in range(0, len(datas) - B + 1, B):
                    imgs = torchvision.io.decode_jpeg([datas[i] for i in order[s:s + B]], device=dev)
                    yield torch.stack([flip(rrc(im)) for im in imgs]) if crop else torch.stack(imgs)
        return gen

    print(f"anchors: {torch.cuda.get_device_name()}, torch {torch.__version__}, torchvision {torchvision.__version__}, {count} images")
    print("| input | images/s | CPU cores busy |\n| --- | --- | --- |")
    rate(nvjpeg_batches(True), "JPEG q90, nvJPEG, RandomResizedCrop 224 + flip, fp16")
    rate(nvjpeg_batches(False), "JPEG q90, nvJPEG, full 2048x1024, fp16")
    rate(pil_batches(True), "PNG, PIL, 16 workers, RandomResizedCrop 224 + flip, fp16")
    rate(pil_batches(False), "PNG, PIL, 16 workers, full 2048x1024, fp16")
