"""examples/pytorch/train.py on a fixture with a split array: finite losses, the val split, two workers."""

import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

try:
    import h5py  # noqa: F401
    import numpy as np
    import torch  # noqa: F401

    MISSING = None
except ImportError as error:  # pragma: no cover - depends on the machine
    MISSING = f"needs h5py, numpy and torch ({error}); on Debian: apt install python3-h5py python3-torch"

if not MISSING:
    from fixtures import write_dataset

TRAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "pytorch", "train.py")
TINY = ["--blocks", "2", "--channels", "4", "--batch-size", "16", "--lr", "1e-3", "--num-workers", "2"]


@unittest.skipIf(MISSING, MISSING)
class TrainExampleTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="ohlc-train-")
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def run_train(self, *args):
        r = subprocess.run([sys.executable, TRAIN, *TINY, *args], capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout.strip().splitlines()

    def test_trains_on_train_validates_on_val(self):
        data = os.path.join(self.dir, "ds.h5")
        split = np.tile([0, 0, 0, 1, 2], 40)  # 200 rows: 120 train, 40 val, 40 test
        labels = write_dataset(data, len(split), seq_len=5, height=16, horizons=(1, 5), split=split)
        out = os.path.join(self.dir, "model.pt")
        lines = self.run_train("--data", data, "--horizon", "5", "--max-batches", "3", "--out", out, "--no-version")
        losses = [float(line.split()[-1]) for line in lines if line.startswith("epoch ")]
        self.assertEqual(len(losses), 3)
        self.assertTrue(all(math.isfinite(x) for x in losses), losses)
        summary = json.loads(lines[-1])
        self.assertEqual(summary["train_batches"], 3)
        self.assertTrue(math.isfinite(summary["final_loss"]))
        self.assertEqual(summary["validation"], "val split")
        self.assertEqual(summary["val_rows"], int(((split == 1) & (labels[:, 1] != -1)).sum()))
        self.assertTrue(0.0 <= summary["val_accuracy"] <= 1.0)
        self.assertEqual(len(summary["worker_pids"]), 2)
        self.assertEqual(summary["model"], out)
        self.assertFalse(summary["versioned"])
        state = torch.load(out)
        self.assertIn("head.2.weight", state)
        self.assertEqual(tuple(state["head.2.weight"].shape), (2, 8 * (16 // 4) * 20))

    def test_versions_with_the_configured_command(self):
        data = os.path.join(self.dir, "ds.h5")
        write_dataset(data, 100, horizons=(5,))
        out = os.path.join(self.dir, "model.pt")
        record = os.path.join(self.dir, "argv.json")
        fake = f"{sys.executable} -c 'import json, sys; json.dump(sys.argv[1:], open(sys.argv[1], \"w\"))' {record}"
        lines = self.run_train("--data", data, "--max-batches", "1", "--num-workers", "0", "--out", out,
                               "--name", "tiny", "--ohlc-native", fake)
        summary = json.loads(lines[-1])
        self.assertTrue(summary["versioned"])
        self.assertIn("held-out tail", lines[0])
        with open(record) as f:
            argv = json.load(f)[1:]
        self.assertEqual(argv[:5], ["models", "save", out, "--name", "tiny"])
        self.assertEqual(argv[5:9], ["--metrics", f"val_accuracy={summary['val_accuracy']}", "--metrics", f"loss={summary['final_loss']}"])
        self.assertEqual(argv[9:], ["--dataset", data])
        self.assertIn(f"versioning: {summary['version_command']}", lines)


if __name__ == "__main__":
    unittest.main()
