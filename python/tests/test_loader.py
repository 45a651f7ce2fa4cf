"""l3.Loader on the CPU (ILGPU's CPU accelerator): batches equal the .NET library's reference and
the decoded samples, epochs cover every sample, ranks are disjoint, state_dict resumes exactly."""
import unittest

import numpy as np

import l3
from tests.support import L3Folder, torch_or_none


def as_numpy(tensor):
    return tensor.numpy() if hasattr(tensor, "numpy") and not isinstance(tensor, np.ndarray) else np.asarray(tensor)


class LoaderBatches(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = L3Folder(count=10, height=48, width=64)

    @classmethod
    def tearDownClass(cls):
        cls.folder.close()

    def test_batches_equal_the_library_reference_in_every_type_and_layout(self):
        for dtype, channels_last in (("uint8", False), ("float32", True), ("float16", False), ("bfloat16", True)):
            with self.subTest(dtype=dtype, channels_last=channels_last), \
                    l3.Loader(self.folder.root, batch_size=4, size=(24, 40), dtype=dtype, seed=11,
                              channels_last=channels_last) as loader:
                for _ in range(len(loader)):
                    batch = loader.next_batch()
                    try:
                        self.assertEqual(batch.shape, (4, 24, 40, 3) if channels_last else (4, 3, 24, 40))
                        self.assertEqual(batch.dtype, dtype)
                        np.testing.assert_array_equal(batch.host_bytes(), batch.reference_bytes())
                    finally:
                        batch.release()

    def test_full_uint8_batches_are_the_decoded_samples(self):
        # independent of the augmentation code: full images, no flip, no normalization, NHWC
        with l3.Loader(self.folder.root, batch_size=3, size=None, crop="full", flip=False, dtype="uint8",
                       channels_last=True, shuffle=True, seed=5) as loader:
            seen = []
            for _ in range(len(loader)):
                batch = loader.next_batch()
                host = batch.host_array()
                for k in range(batch.valid):
                    sample = int(batch.samples[k])
                    np.testing.assert_array_equal(host[k], self.folder.pixels[sample])
                    self.assertEqual(int(batch.labels[k]), self.folder.labels[sample])
                    seen.append(sample)
                batch.release()
            self.assertEqual(sorted(seen), list(range(10)))

    def test_float32_full_images_are_normalized_as_documented(self):
        mean, std = (0.5, 0.25, 0.75), (0.2, 0.3, 0.4)
        with l3.Loader(self.folder.root, batch_size=2, size=None, crop="full", flip=False, dtype="float32",
                       mean=mean, std=std, shuffle=False) as loader:
            images, labels = loader.next()
            images = as_numpy(images)
        for k in range(2):
            pixels = self.folder.pixels[k].astype(np.float32).transpose(2, 0, 1)
            for c in range(3):
                # docs/LOADER.md: (v - float(255 mean)) * float(1 / (255 std)), float32 roundings of
                # mean and std as the library holds them (float32)
                m, s = float(np.float32(mean[c])), float(np.float32(std[c]))
                expected = (pixels[c] - np.float32(255.0 * m)) * np.float32(1.0 / (255.0 * s))
                np.testing.assert_array_equal(images[k, c], expected)

    def test_an_epoch_gives_every_sample_once_and_len_batches(self):
        with l3.Loader(self.folder.root, batch_size=4, size=8, dtype="uint8", seed=3) as loader:
            self.assertEqual(len(loader), 3)
            counts, labels = [], []
            for images, batch_labels in loader:
                counts.append(images.shape[0])
                labels += [int(v) for v in batch_labels]
            self.assertEqual(counts, [4, 4, 2])  # the padded last batch shows its real entries only
            self.assertEqual(sorted(labels), sorted(self.folder.labels))
            self.assertEqual(loader.epoch, 1)
            self.assertEqual(sum(1 for _ in loader), 3)  # the next epoch

    def test_drop_last_gives_whole_batches(self):
        with l3.Loader(self.folder.root, batch_size=4, size=8, dtype="uint8", drop_last=True) as loader:
            self.assertEqual(len(loader), 2)
            self.assertEqual([images.shape[0] for images, _ in loader], [4, 4])

    def test_ranks_share_an_epoch_without_overlap(self):
        samples = []
        for rank in range(3):
            with l3.Loader(self.folder.root, batch_size=2, size=8, dtype="uint8", seed=9, rank=rank, world_size=3) as loader:
                for _ in range(len(loader)):
                    batch = loader.next_batch()
                    samples += [int(s) for s in batch.samples[:batch.valid]]
                    batch.release()
        self.assertEqual(sorted(samples), list(range(10)))

    def test_next_names_its_samples_and_ranks_cover_each_epoch(self):
        # what a torchrun job checks (bench/train/ranks.py): every rank's (images, labels) name their
        # samples, the ranks' are disjoint and cover each epoch
        for drop_last in (False, True):
            seen = {}
            for rank in range(2):
                with l3.Loader(self.folder.root, batch_size=2, size=8, dtype="uint8", seed=3, rank=rank, world_size=2,
                               drop_last=drop_last) as loader:
                    self.assertEqual(loader.num_samples, 10)
                    for _ in range(2 * len(loader)):
                        images, labels = loader.next()
                        self.assertEqual(len(loader.last_samples), images.shape[0])
                        seen.setdefault(loader.last_epoch, []).extend(int(s) for s in loader.last_samples)
            for epoch, samples in seen.items():
                self.assertEqual(len(samples), len(set(samples)), f"epoch {epoch}: a sample twice")
                if drop_last:
                    self.assertEqual(len(samples), 2 * 2 * 2, f"epoch {epoch}")  # 2 whole batches of 2 per rank
                else:
                    self.assertEqual(sorted(samples), list(range(10)), f"epoch {epoch}")
            self.assertEqual(sorted(seen), [0, 1])

    def test_state_dict_resumes_with_the_same_batches(self):
        settings = dict(batch_size=3, size=16, dtype="float16", seed=21)
        with l3.Loader(self.folder.root, **settings) as straight:
            expected = [as_numpy(straight.next()[0]).copy() for _ in range(6)]  # two epochs
        with l3.Loader(self.folder.root, **settings) as first:
            for _ in range(2):
                first.next()
            state = first.state_dict()
        with l3.Loader(self.folder.root, **settings) as resumed:
            resumed.load_state_dict(state)
            self.assertEqual(len(list(resumed)), 2)  # the rest of epoch 0
            rest = [as_numpy(resumed.next()[0]) for _ in range(2)]
        with l3.Loader(self.folder.root, **settings) as again:
            again.load_state_dict(state)
            got = [as_numpy(again.next()[0]) for _ in range(4)]
        for k, (a, b) in enumerate(zip(expected[2:], got)):
            np.testing.assert_array_equal(a, b, err_msg=f"batch {k + 2}")
        np.testing.assert_array_equal(rest[0], expected[4])

    def test_a_state_of_other_settings_is_refused(self):
        with l3.Loader(self.folder.root, batch_size=3, size=8) as loader:
            state = loader.state_dict()
        with l3.Loader(self.folder.root, batch_size=4, size=8) as other:
            with self.assertRaises(Exception) as caught:
                other.load_state_dict(state)
            self.assertIn("batch", str(caught.exception).lower())

    def test_bad_settings_raise_value_error_with_the_library_message(self):
        with self.assertRaises(ValueError) as caught:
            l3.Loader(self.folder.root, batch_size=0)
        self.assertIn("batch size", str(caught.exception))
        with self.assertRaises(ValueError):
            l3.Loader(self.folder.root, rank=3, world_size=2)
        with self.assertRaises(ValueError):
            l3.Loader(self.folder.root, dtype="int7")
        with self.assertRaises(FileNotFoundError):
            l3.Loader(self.folder.root + "-missing")
        with self.assertRaises(ValueError) as caught:
            l3.Loader(self.folder.root, device="cuda:64")  # the loader decodes on the device asked for
        self.assertIn("CUDA device 64", str(caught.exception))

    def test_corrupt_sample_raises_format_error_naming_it(self):
        folder = L3Folder(count=4, height=16, width=16, seed=4)
        try:
            with open(folder.paths[2], "r+b") as f:
                f.seek(40)
                f.write(b"\xff" * 8)
            with l3.Loader(folder.root, batch_size=4, size=8, shuffle=False) as loader:
                with self.assertRaises(l3.L3FormatError) as caught:
                    loader.next()
                self.assertIn(folder.paths[2], str(caught.exception))
        finally:
            folder.close()

    @unittest.skipIf(torch_or_none() is None, "torch is not installed")
    def test_torch_tensors_on_the_cpu(self):
        torch = torch_or_none()
        settings = dict(batch_size=4, size=16, dtype="bfloat16", channels_last=True, seed=2, force_cpu=True, device="cpu")
        with l3.Loader(self.folder.root, **settings) as loader:
            batch = loader.next_batch()
            expected = torch.from_numpy(batch.reference_bytes().view(np.int16).reshape(batch.shape)).view(torch.bfloat16)
            batch.release()
        with l3.Loader(self.folder.root, **settings) as loader:
            images, labels = loader.next()
        self.assertEqual(images.dtype, torch.bfloat16)
        self.assertEqual(tuple(images.shape), (4, 3, 16, 16))
        self.assertTrue(images.is_contiguous(memory_format=torch.channels_last))
        self.assertTrue(torch.equal(images, expected.permute(0, 3, 1, 2)))
        self.assertEqual(labels.dtype, torch.int64)


if __name__ == "__main__":
    unittest.main()
