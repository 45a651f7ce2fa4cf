#!/usr/bin/env python3
"""Data-parallel training from l3.Loader on the GPUs of one machine (issue 15), under torchrun:
each rank trains on its own GPU (torch.cuda.set_device(LOCAL_RANK); l3.Loader decodes there and
takes rank/world_size from torch.distributed), the model wrapped in DistributedDataParallel
(gradients all-reduced), the classifier setting of train.py (RandomResizedCrop 224 + flip, bf16
autocast, channels-last, SGD) for a fixed number of steps.

Each rank times its steps (after warm-up) and records the samples of every batch by epoch; then it
finishes the epoch it is in without training, so every epoch it saw is whole. Rank 0 gathers the
records (all_gather_object), checks that in every epoch the ranks' samples are disjoint and
together the whole dataset (with drop_last=False: each rank's share, its last batch cut to its real
entries) and prints the table. Exit status 1 when the check fails.

Usage: torchrun --nproc_per_node=2 ranks.py DATASET [steps=30] [batch=64] [model=resnet50]
Without CUDA (a check of the script on the CPU) the ranks use gloo and the CPU."""
import os
import sys
import time

import torch
import torch.distributed as dist
import torchvision
from torch.nn.parallel import DistributedDataParallel

import l3

WARMUP = 3


def main():
    dataset = sys.argv[1]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    model_name = sys.argv[4] if len(sys.argv) > 4 else "resnet50"
    cuda = torch.cuda.is_available()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local)
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    dev = torch.device("cuda", local) if cuda else torch.device("cpu")
    cores = len(os.sched_getaffinity(0))

    loader = l3.Loader(dataset, batch_size=batch, size=224, dtype="float16" if cuda else "float32", channels_last=True,
                       seed=1, readers=max(1, cores // world))
    assert loader.device == dev, f"rank {rank}: the loader's tensors are on {loader.device}, not {dev}"
    torch.manual_seed(0)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    model = getattr(torchvision.models, model_name)(num_classes=10).to(dev).to(memory_format=torch.channels_last)
    model = DistributedDataParallel(model, device_ids=[local] if cuda else None)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    seen = {}  # epoch -> sample numbers this rank trained on (or drew to finish the epoch)

    def draw():
        images, labels = loader.next()
        seen.setdefault(loader.last_epoch, []).extend(int(s) for s in loader.last_samples)
        return images, labels

    def step(images, labels):
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cuda):
            loss = torch.nn.functional.cross_entropy(model(images).float(), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()  # DDP all-reduces the gradients here
        opt.step()

    for _ in range(WARMUP):
        step(*draw())
    if cuda:
        torch.cuda.synchronize()
    dist.barrier()
    t0, images_done = time.time(), 0
    for _ in range(steps):
        images, labels = draw()
        step(images, labels)
        images_done += images.shape[0]
    if cuda:
        torch.cuda.synchronize()
    rate = images_done / (time.time() - t0)
    # the rest of the current epoch, untrained, so that every epoch recorded is whole
    epoch = loader.last_epoch
    while True:
        images, _ = loader.next()
        if loader.last_epoch != epoch:
            break
        seen[epoch].extend(int(s) for s in loader.last_samples)
    if cuda:
        props = torch.cuda.get_device_properties(dev)
        gpu = f"cuda:{local} {props.name} (bus {getattr(props, 'pci_bus_id', '?')})"
    else:
        gpu = "cpu"
    record = dict(rank=rank, gpu=gpu, loader_device=str(loader.device), rate=rate, steps=steps, seen=seen,
                  per_epoch=len(loader), total=loader.num_samples)
    records = [None] * world
    dist.all_gather_object(records, record)
    failures = []
    if rank == 0:
        total = records[0]["total"]
        epochs = sorted(set.intersection(*(set(r["seen"]) for r in records)))
        for e in epochs:
            shares = [r["seen"][e] for r in records]
            together = [s for share in shares for s in share]
            for r, share in zip(records, shares):
                if len(share) != len(set(share)):
                    failures.append(f"epoch {e}: rank {r['rank']} saw a sample twice")
            if len(together) != len(set(together)):
                failures.append(f"epoch {e}: the ranks' samples overlap ({len(together) - len(set(together))} shared)")
            if set(together) != set(range(total)):
                failures.append(f"epoch {e}: the ranks together saw {len(set(together))} of {total} samples")
        print(f"\n{world} ranks, DDP, {model_name}, RandomResizedCrop 224 + flip, batch {batch} per rank, {steps} timed steps "
              f"after {WARMUP}, dataset of {total} samples, {len(loader)} batches per epoch per rank, "
              f"{torch.__version__}, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC")
        print("\n| rank | GPU | loader's device | images/s | samples per epoch (epochs checked) |\n| --- | --- | --- | --- | --- |")
        for r in records:
            counts = ", ".join(str(len(r["seen"][e])) for e in epochs)
            print(f"| {r['rank']} | {r['gpu']} | {r['loader_device']} | {r['rate']:.{0 if r['rate'] >= 100 else 1}f} | {counts} ({len(epochs)}) |")
        print(f"| all | | | {sum(r['rate'] for r in records):.0f} | |")
        print(f"\nepochs {epochs}: " + ("; ".join(failures) if failures else
                                       "the ranks' samples are disjoint and together cover each epoch"), flush=True)
    ok = [not failures]
    dist.broadcast_object_list(ok, src=0)
    loader.close()
    dist.destroy_process_group()
    return 0 if ok[0] else 1


if __name__ == "__main__":
    sys.exit(main())
