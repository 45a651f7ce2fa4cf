"""Shared test helpers: the repository's test images and small L3 folders and datasets."""
import os
import shutil
import tempfile

import numpy as np

import l3

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEST_DATA = os.path.join(REPO, "tests", "data")


def data_images():
    return sorted(os.path.join(TEST_DATA, f) for f in os.listdir(TEST_DATA) if f.endswith(".png"))


def torch_or_none():
    try:
        import torch
        return torch
    except ImportError:
        return None


def write_ppm(path, pixels):
    """A binary netpbm file (P6 for RGB, P5 for gray): an input the converter reads."""
    height, width, channels = pixels.shape
    with open(path, "wb") as f:
        f.write(b"P6" if channels == 3 else b"P5")
        f.write(f"\n{width} {height}\n255\n".encode())
        f.write(pixels.tobytes())


class L3Folder:
    """`count` random RGB images of height × width (a few are smooth gradients) written as .l3
    files into class folders c0, c1, c2; `paths[i]` is sample i (the loader's ordinal order) and
    `pixels[i]` its image."""

    def __init__(self, count=10, height=48, width=64, seed=1, patch_size=16):
        self.root = tempfile.mkdtemp(prefix="l3-py-")
        rng = np.random.default_rng(seed)
        entries = []
        for i in range(count):
            if i % 3 == 0:
                y, x = np.mgrid[0:height, 0:width]
                image = np.stack([(x * 4) % 256, (y * 3) % 256, (x + y) % 256], axis=2).astype(np.uint8)
            else:
                image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            relative = f"c{i % 3}/{i:03d}.l3"
            os.makedirs(os.path.join(self.root, f"c{i % 3}"), exist_ok=True)
            with open(os.path.join(self.root, relative), "wb") as f:
                f.write(l3.encode(image, patch_size=patch_size))
            entries.append((relative, image, i % 3))
        entries.sort(key=lambda e: e[0])  # SampleSource.FromDirectory: ordinal order of relative paths
        self.paths = [os.path.join(self.root, e[0]) for e in entries]
        self.pixels = [e[1] for e in entries]
        self.labels = [e[2] for e in entries]

    def close(self):
        shutil.rmtree(self.root, ignore_errors=True)
