"""l3.encode / l3.decode / l3.header / l3.read_image / l3.convert through the hosted library."""
import os
import shutil
import tempfile
import unittest

import numpy as np

import l3
from tests.support import TEST_DATA, data_images, torch_or_none, write_ppm


class RoundTrip(unittest.TestCase):
    def test_random_arrays_of_every_shape_and_patch_size(self):
        rng = np.random.default_rng(7)
        for case in range(40):
            height, width = int(rng.integers(1, 150)), int(rng.integers(1, 150))
            channels = int(rng.choice([1, 3, 4]))
            patch_size = int(rng.choice([8, 16, 32, 64]))
            # noise, or a smooth image with runs (the coder's other branches)
            if case % 2:
                pixels = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
            else:
                pixels = (np.add.outer(np.arange(height), np.arange(width))[:, :, None] // 5 + np.arange(channels)).astype(np.uint8)
            with self.subTest(height=height, width=width, channels=channels, patch_size=patch_size):
                data = l3.encode(pixels, patch_size=patch_size, threads=1 + case % 3)
                self.assertIsInstance(data, bytes)
                self.assertEqual(l3.header(data), (width, height, channels, patch_size))
                np.testing.assert_array_equal(l3.decode(data, threads=1 + case % 2), pixels)

    def test_gray_two_dimensional_array_decodes_with_one_channel(self):
        pixels = np.arange(30 * 20, dtype=np.uint32).reshape(30, 20).astype(np.uint8)
        decoded = l3.decode(l3.encode(pixels))
        self.assertEqual(decoded.shape, (30, 20, 1))
        np.testing.assert_array_equal(decoded[:, :, 0], pixels)

    def test_every_test_image_round_trips(self):
        images = data_images()
        self.assertGreater(len(images), 3)
        for path in images:
            with self.subTest(image=os.path.basename(path)):
                pixels = l3.read_image(path)
                self.assertEqual(pixels.dtype, np.uint8)
                data = l3.encode(pixels, threads=2)
                np.testing.assert_array_equal(l3.decode(data, threads=2), pixels)

    def test_decode_accepts_bytearray_memoryview_and_numpy(self):
        pixels = np.random.default_rng(3).integers(0, 256, (9, 11, 3), dtype=np.uint8)
        data = l3.encode(pixels)
        for form in (bytearray(data), memoryview(data), np.frombuffer(data, dtype=np.uint8)):
            np.testing.assert_array_equal(l3.decode(form), pixels)

    def test_read_decodes_a_file(self):
        pixels = np.random.default_rng(4).integers(0, 256, (20, 30, 4), dtype=np.uint8)
        folder = tempfile.mkdtemp()
        try:
            path = os.path.join(folder, "a.l3")
            with open(path, "wb") as f:
                f.write(l3.encode(pixels))
            np.testing.assert_array_equal(l3.read(path), pixels)
        finally:
            shutil.rmtree(folder)

    @unittest.skipIf(torch_or_none() is None, "torch is not installed")
    def test_torch_tensors_in_and_out(self):
        torch = torch_or_none()
        pixels = torch.randint(0, 256, (17, 19, 3), dtype=torch.uint8)
        decoded = l3.decode(l3.encode(pixels), device="cpu")
        self.assertTrue(torch.equal(decoded, pixels))


class BadInput(unittest.TestCase):
    def setUp(self):
        self.pixels = np.random.default_rng(5).integers(0, 256, (40, 40, 3), dtype=np.uint8)
        self.data = l3.encode(self.pixels, patch_size=16)

    def test_truncated_file_raises_format_error_with_the_library_message(self):
        with self.assertRaises(l3.L3FormatError) as caught:
            l3.decode(self.data[:40])
        self.assertIn("patch table", str(caught.exception))
        with self.assertRaises(l3.L3FormatError):
            l3.header(self.data[:10])

    def test_flipped_payload_byte_raises_format_error(self):
        corrupt = bytearray(self.data)
        corrupt[-5] ^= 0x40
        with self.assertRaises(l3.L3FormatError) as caught:
            l3.decode(corrupt)
        self.assertIn("checksum", str(caught.exception).lower())

    def test_not_an_l3_file(self):
        with self.assertRaises(l3.L3FormatError) as caught:
            l3.decode(b"\x89PNG\r\n\x1a\n" + bytes(100))
        self.assertTrue(str(caught.exception))

    def test_bad_arguments_raise_value_error(self):
        with self.assertRaises(ValueError):
            l3.encode(self.pixels.astype(np.float32))
        with self.assertRaises(ValueError):
            l3.encode(np.zeros((4, 4, 2), np.uint8))  # two channels
        with self.assertRaises(ValueError) as caught:
            l3.encode(self.pixels, patch_size=12)
        self.assertIn("12", str(caught.exception))
        with self.assertRaises(TypeError):
            l3.decode("a path, not bytes")

    def test_unreadable_image_raises_image_file_error(self):
        folder = tempfile.mkdtemp()
        try:
            path = os.path.join(folder, "broken.png")
            with open(path, "wb") as f:
                f.write(b"\x89PNG\r\n\x1a\n" + bytes(64))
            with self.assertRaises(l3.ImageFileError):
                l3.read_image(path)
            with self.assertRaises(FileNotFoundError):
                l3.read_image(os.path.join(folder, "missing.png"))
        finally:
            shutil.rmtree(folder)


class Convert(unittest.TestCase):
    def test_folder_of_images_becomes_a_dataset_the_loader_reads(self):
        work = tempfile.mkdtemp()
        try:
            source = os.path.join(work, "images")
            rng = np.random.default_rng(8)
            images = {}
            for k in range(5):
                pixels = rng.integers(0, 256, (30 + k, 40, 1 if k == 2 else 3), dtype=np.uint8)
                relative = os.path.join(f"class{k % 2}", f"{k}.ppm")
                os.makedirs(os.path.join(source, f"class{k % 2}"), exist_ok=True)
                write_ppm(os.path.join(source, relative), pixels)
                images[relative] = pixels
            result = l3.convert(source, os.path.join(work, "dataset"), patch_size=16, jobs=2)
            self.assertEqual(result["samples"], 5)
            self.assertEqual(result["failures"], 0)
            self.assertTrue(result["finished"])
            self.assertTrue(os.path.isfile(os.path.join(work, "dataset", "dataset.json")))
            with l3.Loader(os.path.join(work, "dataset"), batch_size=5, size=16, dtype="uint8", shuffle=False) as loader:
                batch = loader.next_batch()
                np.testing.assert_array_equal(batch.host_bytes(), batch.reference_bytes())
                self.assertEqual(batch.shape, (5, 3, 16, 16))
                self.assertEqual(sorted(int(v) for v in batch.labels), [0, 0, 0, 1, 1])
                batch.release()
        finally:
            shutil.rmtree(work)

    def test_missing_source_raises_file_not_found(self):
        with self.assertRaises(FileNotFoundError):
            l3.convert(os.path.join(TEST_DATA, "no-such-folder"), tempfile.mkdtemp())


if __name__ == "__main__":
    unittest.main()
