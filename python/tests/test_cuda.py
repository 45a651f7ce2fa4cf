"""The GPU hand-off, on a CUDA machine with torch (skipped elsewhere): torch reads the batch memory
of the loader's own CUDA context (ILGPU's) in its primary context, zero copy, and gets exactly the
batch's bytes; the copying fallback too; a batch's memory stays the tensor's while it lives."""
import unittest

import numpy as np

import l3
from tests.support import L3Folder, torch_or_none

torch = torch_or_none()
CUDA = torch is not None and torch.cuda.is_available()


@unittest.skipUnless(CUDA, "needs torch with a CUDA GPU")
class CudaHandOff(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = L3Folder(count=24, height=300, width=400, patch_size=16)

    @classmethod
    def tearDownClass(cls):
        cls.folder.close()

    def expected(self, dtype, channels_last, batches, **settings):
        """Each batch's bytes as the loader's host copy gives them, and the library's reference."""
        out = []
        with l3.Loader(self.folder.root, dtype=dtype, channels_last=channels_last, **settings) as loader:
            self.assertTrue(loader.on_cuda, "the loader did not open the CUDA device")
            for _ in range(batches):
                batch = loader.next_batch()
                host, reference = batch.host_bytes(), batch.reference_bytes()
                np.testing.assert_array_equal(host, reference)
                out.append(host)
                batch.release()
        return out

    @staticmethod
    def tensor_bytes(images, channels_last):
        memory = images.permute(0, 2, 3, 1) if channels_last else images
        # a kernel in torch's context reads the loader's memory (the elementwise copy), then to the host
        copy = torch.empty_like(memory, memory_format=torch.contiguous_format)
        copy.copy_(memory)
        flat = copy.view(torch.uint8) if copy.dtype != torch.uint8 else copy
        return flat.cpu().numpy().reshape(-1)

    def check(self, dtype, channels_last, copy=False):
        settings = dict(batch_size=8, size=(96, 128), seed=7)
        expected = self.expected(dtype, channels_last, 6, **settings)
        with l3.Loader(self.folder.root, dtype=dtype, channels_last=channels_last, copy=copy, **settings) as loader:
            self.assertEqual(loader.device.type, "cuda")
            for k in range(6):
                images, labels = loader.next()
                self.assertTrue(images.is_cuda and labels.is_cuda)
                self.assertEqual(tuple(images.shape), (8, 3, 96, 128))
                np.testing.assert_array_equal(self.tensor_bytes(images, channels_last), expected[k], err_msg=f"batch {k}")
                del images

    def test_zero_copy_uint8(self):
        self.check("uint8", False)

    def test_zero_copy_float16_channels_last(self):
        self.check("float16", True)

    def test_zero_copy_bfloat16(self):
        self.check("bfloat16", False)

    def test_zero_copy_float32_channels_last(self):
        self.check("float32", True)

    def test_copy_fallback(self):
        self.check("float16", False, copy=True)

    def test_a_live_tensor_keeps_its_memory(self):
        settings = dict(batch_size=8, size=64, seed=3)
        expected = self.expected("float32", False, 8, **settings)
        with l3.Loader(self.folder.root, dtype="float32", **settings) as loader:
            kept, _ = loader.next()
            for _ in range(7):  # later batches are written while `kept` lives
                images, _ = loader.next()
                images.mul_(2)  # work queued on torch's stream, then the tensor dropped
                del images
            torch.cuda.synchronize()
            np.testing.assert_array_equal(self.tensor_bytes(kept, False), expected[0])

    def test_the_loader_decodes_on_the_device_asked_for(self):
        # the last GPU (torchrun: each rank's own); the tensors are that device's memory, zero copy
        last = torch.cuda.device_count() - 1
        settings = dict(batch_size=8, size=64, seed=5)
        expected = self.expected("uint8", False, 2, **settings)
        for device, current in ((f"cuda:{last}", 0), (None, last)):
            with torch.cuda.device(current), l3.Loader(self.folder.root, dtype="uint8", device=device, **settings) as loader:
                self.assertEqual(loader.device, torch.device("cuda", last))
                for k in range(2):
                    batch = loader.next_batch()
                    self.assertEqual(batch.info.device_id, last)
                    batch.release()
            with torch.cuda.device(current), l3.Loader(self.folder.root, dtype="uint8", device=device, **settings) as loader:
                for k in range(2):
                    images, _ = loader.next()
                    self.assertEqual(images.device, torch.device("cuda", last))
                    np.testing.assert_array_equal(self.tensor_bytes(images, False), expected[k], err_msg=f"{device} batch {k}")
                    del images


if __name__ == "__main__":
    unittest.main()
