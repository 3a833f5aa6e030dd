"""H5Dataset against fixture files written here with h5py (tests/fixtures.py).

Run: /usr/bin/python3 -m unittest discover -s python/tests -v
"""

import functools
import json
import os
import pathlib
import pickle
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

try:
    import h5py
    import numpy as np
    import torch
    from torch.utils.data import DataLoader

    MISSING = None
except ImportError as error:  # pragma: no cover - depends on the machine
    MISSING = f"needs h5py, numpy and torch ({error}); on Debian: apt install python3-h5py python3-torch"

if not MISSING:
    from fixtures import labels_of, row_of, write_batch_set, write_dataset, write_virtual_master
    from ohlc_native import H5Dataset


def open_hdf5_files():
    """HDF5 files open in this process, as the library counts them."""
    return h5py.h5f.get_obj_count(h5py.h5f.OBJ_ALL, h5py.h5f.OBJ_FILE)


def rows_of(dataset):
    return [row_of(dataset[i][0][0].numpy()) for i in range(len(dataset))]


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="ohlc-torch-")
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)


@unittest.skipIf(MISSING, MISSING)
class SingleFileTest(TempDirTest):
    def test_items_are_the_files_rows(self):
        labels = write_dataset(self.path("ds.h5"), 30)
        ds = H5Dataset(self.path("ds.h5"))
        known = np.flatnonzero(labels[:, 0] != -1)
        self.assertEqual(len(ds), len(known))
        np.testing.assert_array_equal(ds.indices, known)
        np.testing.assert_array_equal(ds.labels, labels[known, 0])
        image, label = ds[3]
        self.assertEqual(image.dtype, torch.uint8)
        self.assertEqual(tuple(image.shape), (1, 8, 20))
        self.assertIsInstance(label, int)
        self.assertEqual(label, labels[known[3], 0])
        self.assertEqual(rows_of(ds), known.tolist())
        with h5py.File(self.path("ds.h5"), "r") as f:
            np.testing.assert_array_equal(image[0].numpy(), f["images"][known[3]])

    def test_metadata_decodes_json_attributes(self):
        write_dataset(self.path("ds.h5"), 4, symbols=["AAAUSDT", "BBBUSDT"], symbol_index=[0, 1, 1, 0])
        ds = H5Dataset(self.path("ds.h5"), drop_unknown=False)
        self.assertEqual(ds.metadata["config"], {"image": {"seq_len": 5}})
        self.assertEqual(ds.metadata["sources"][0]["name"], "TESTUSDT-1m-2024-01.zip")
        self.assertEqual(ds.metadata["skipped"], {"gap": 0, "invalid_price": 0})
        self.assertEqual(ds.metadata["horizons"], [1, 5, 15])
        self.assertEqual(ds.metadata["seq_len"], 5)
        self.assertEqual(ds.metadata["layout"], "ohlc-4px")
        self.assertEqual(ds.symbols, ["AAAUSDT", "BBBUSDT"])
        np.testing.assert_array_equal(ds.symbol_index, [0, 1, 1, 0])

    def test_float32_images_come_back_float32(self):
        write_dataset(self.path("f.h5"), 6, dtype="float32")
        image, _ = H5Dataset(self.path("f.h5"), drop_unknown=False)[2]
        self.assertEqual(image.dtype, torch.float32)
        self.assertEqual(tuple(image.shape), (1, 8, 20))
        self.assertEqual(row_of(image[0].numpy()), 2)

    def test_transform_is_applied_to_the_image(self):
        write_dataset(self.path("ds.h5"), 6)
        ds = H5Dataset(self.path("ds.h5"), drop_unknown=False, transform=lambda x: 1.0 - x.float())
        image, _ = ds[0]
        self.assertEqual(image.dtype, torch.float32)
        self.assertEqual(float(image.sum()), 0.0)  # row 0 is all white: 1 everywhere, 0 after the transform

    def test_missing_path_is_named(self):
        with self.assertRaisesRegex(FileNotFoundError, "nothing_here"):
            H5Dataset(self.path("nothing_here.h5"))


@unittest.skipIf(MISSING, MISSING)
class HorizonTest(TempDirTest):
    def test_horizon_is_a_value_not_a_column(self):
        labels = write_dataset(self.path("ds.h5"), 30, horizons=(1, 5, 15))
        for column, horizon in enumerate((1, 5, 15)):
            ds = H5Dataset(self.path("ds.h5"), horizon=horizon)
            self.assertEqual(ds.horizon, horizon)
            known = np.flatnonzero(labels[:, column] != -1)
            np.testing.assert_array_equal(ds.indices, known)
            np.testing.assert_array_equal(ds.labels, labels[known, column])
        self.assertEqual(H5Dataset(self.path("ds.h5")).horizon, 1)  # default: the first
        self.assertEqual(H5Dataset(self.path("ds.h5"), horizon=np.int64(15)).horizon, 15)

    def test_unknown_horizon_lists_the_available_ones(self):
        write_dataset(self.path("ds.h5"), 5, horizons=(5, 15))
        for bad in (1, 2, 7, "5", True):
            with self.assertRaisesRegex(ValueError, r"horizons \[5, 15\]"):
                H5Dataset(self.path("ds.h5"), horizon=bad)

    def test_drop_unknown(self):
        labels = write_dataset(self.path("ds.h5"), 30)
        everything = H5Dataset(self.path("ds.h5"), drop_unknown=False)
        self.assertEqual(len(everything), 30)
        np.testing.assert_array_equal(everything.labels, labels[:, 0])
        self.assertIn(-1, everything.labels.tolist())
        known = H5Dataset(self.path("ds.h5"))
        self.assertNotIn(-1, known.labels.tolist())
        self.assertEqual(len(known), int((labels[:, 0] != -1).sum()))

    def test_dataset_without_labels(self):
        write_dataset(self.path("nolabels.h5"), 7, horizons=())
        with self.assertRaisesRegex(ValueError, "no labels.*drop_unknown=False"):
            H5Dataset(self.path("nolabels.h5"))
        with self.assertRaisesRegex(ValueError, "no labels"):
            H5Dataset(self.path("nolabels.h5"), horizon=5, drop_unknown=False)
        ds = H5Dataset(self.path("nolabels.h5"), drop_unknown=False)
        self.assertEqual(len(ds), 7)
        self.assertIsNone(ds.horizon)
        self.assertEqual(ds[4][1], -1)
        self.assertEqual(row_of(ds[4][0][0].numpy()), 4)


@unittest.skipIf(MISSING, MISSING)
class SplitTest(TempDirTest):
    SPLIT = [0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2] * 2

    def test_split_selects_rows(self):
        labels = write_dataset(self.path("ds.h5"), len(self.SPLIT), split=self.SPLIT)
        split = np.asarray(self.SPLIT)
        for name, code in (("train", 0), ("val", 1), ("test", 2)):
            for value in (name, code, np.uint8(code)):
                ds = H5Dataset(self.path("ds.h5"), split=value, drop_unknown=False)
                np.testing.assert_array_equal(ds.indices, np.flatnonzero(split == code))
            ds = H5Dataset(self.path("ds.h5"), split=name)
            expected = np.flatnonzero((split == code) & (labels[:, 0] != -1))
            np.testing.assert_array_equal(ds.indices, expected)
            np.testing.assert_array_equal(ds.labels, labels[expected, 0])
            self.assertEqual(rows_of(ds), expected.tolist())
        self.assertEqual(len(H5Dataset(self.path("ds.h5"), drop_unknown=False)), len(self.SPLIT))

    def test_file_without_split_array(self):
        write_dataset(self.path("ds.h5"), 5)
        with self.assertRaisesRegex(ValueError, "has no 'split' array"):
            H5Dataset(self.path("ds.h5"), split="train")

    def test_bad_split_value(self):
        write_dataset(self.path("ds.h5"), 5, split=[0] * 5)
        for bad in ("training", 3, -1, True, 1.0):
            with self.assertRaisesRegex(ValueError, "split must be"):
                H5Dataset(self.path("ds.h5"), split=bad)


@unittest.skipIf(MISSING, MISSING)
class BatchSetTest(TempDirTest):
    def test_by_stem_by_first_file_and_by_h5_name(self):
        paths, labels = write_batch_set(self.path("set"), [7, 5, 9])
        known = np.flatnonzero(labels[:, 1] != -1)
        for given in (self.path("set"), self.path("set_00000.h5"), self.path("set.h5"), pathlib.Path(self.path("set"))):
            ds = H5Dataset(given, horizon=5)
            self.assertEqual(ds.files, paths)
            np.testing.assert_array_equal(ds.indices, known)
            np.testing.assert_array_equal(ds.labels, labels[known, 1])
            self.assertEqual(rows_of(ds), known.tolist())

    def test_a_later_file_alone_is_just_that_file(self):
        write_batch_set(self.path("set"), [4, 6])
        ds = H5Dataset(self.path("set_00001.h5"), drop_unknown=False)
        self.assertEqual(len(ds), 6)
        self.assertEqual(rows_of(ds), list(range(4, 10)))

    def test_stops_at_the_first_missing_number(self):
        write_batch_set(self.path("set"), [3, 3, 3])
        os.remove(self.path("set_00001.h5"))
        self.assertEqual(H5Dataset(self.path("set"), drop_unknown=False).files, [self.path("set_00000.h5")])

    def test_files_that_disagree_are_refused(self):
        cases = {
            "seq_len": {"seq_len": 6},
            "height": {"height": 9},
            "dtype": {"dtype": "float32"},
            "horizons": {"horizons": (1, 5)},
            "layout": {"extra_attrs": {"layout": "jkx"}},
            "config_sha256": {"extra_attrs": {"config_sha256": "b" * 64}},
        }
        for key, override in cases.items():
            with self.subTest(key=key):
                stem = self.path(f"bad_{key}")
                options = {"extra_attrs": {"config_sha256": "a" * 64}} if key == "config_sha256" else {}
                write_batch_set(stem, [3, 3, 3], per_file={2: override}, **options)
                with self.assertRaisesRegex(ValueError, f"bad_{key}_00002.h5 has {key}=") as caught:
                    H5Dataset(stem, drop_unknown=False)
                self.assertIn(f"bad_{key}_00000.h5", str(caught.exception))

    def test_config_sha256_on_only_some_files_is_refused(self):
        write_batch_set(self.path("set"), [3, 3], per_file={1: {"extra_attrs": {"config_sha256": "a" * 64}}})
        with self.assertRaisesRegex(ValueError, "set_00001.h5 has config_sha256='a+' but .*set_00000.h5 has config_sha256='<missing>'"):
            H5Dataset(self.path("set"), drop_unknown=False)

    def test_split_across_files(self):
        split = [[0, 1, 2], [2, 0, 0, 1]]
        write_batch_set(self.path("set"), [3, 4], per_file={0: {"split": split[0]}, 1: {"split": split[1]}})
        ds = H5Dataset(self.path("set"), split="train", drop_unknown=False)
        self.assertEqual(ds.indices.tolist(), [0, 4, 5])
        self.assertEqual(rows_of(ds), [0, 4, 5])


@unittest.skipIf(MISSING, MISSING)
class VirtualMasterTest(TempDirTest):
    def setUp(self):
        super().setUp()
        split = [0, 1, 2, 0, 0, 1, 2, 0, 0]
        self.paths, self.labels = write_batch_set(
            self.path("shard"), [4, 5], per_file={0: {"split": split[:4]}, 1: {"split": split[4:]}}
        )
        self.split = np.asarray(split)
        write_virtual_master(self.path("master.h5"), self.paths)

    def test_master_reads_like_the_shards(self):
        cwd = os.getcwd()
        os.chdir(tempfile.gettempdir())  # the shard names are relative to the master, not to cwd
        try:
            master = H5Dataset(self.path("master.h5"), horizon=15, split="train", drop_unknown=False)
            shards = H5Dataset(self.path("shard"), horizon=15, split="train", drop_unknown=False)
            self.assertEqual(master.files, [self.path("master.h5")])
            with h5py.File(self.path("master.h5"), "r") as f:
                self.assertTrue(f["images"].is_virtual)
            np.testing.assert_array_equal(master.indices, np.flatnonzero(self.split == 0))
            np.testing.assert_array_equal(master.indices, shards.indices)
            np.testing.assert_array_equal(master.labels, self.labels[master.indices, 2])
            self.assertEqual(rows_of(master), master.indices.tolist())
            for i in range(len(master)):
                self.assertTrue(torch.equal(master[i][0], shards[i][0]))
        finally:
            os.chdir(cwd)

    def test_missing_shard_is_refused_not_read_as_fill_values(self):
        os.rename(self.paths[1], self.path("elsewhere.h5"))
        with self.assertRaisesRegex(FileNotFoundError, "shard_00001.h5, which is missing"):
            H5Dataset(self.path("master.h5"), drop_unknown=False)


@unittest.skipIf(MISSING, MISSING)
class LazyOpenTest(TempDirTest):
    def test_index_is_built_without_reading_images(self):
        # The images use a filter no HDF5 build has: any read of them fails, the description does not.
        labels = write_dataset(self.path("ds.h5"), 40, split=[0, 1] * 20, unreadable_images=True)
        with h5py.File(self.path("ds.h5"), "r") as f:
            with self.assertRaises(OSError):
                f["images"][0]  # the fixture does what it claims
        ds = H5Dataset(self.path("ds.h5"), split="val", horizon=5)
        expected = np.flatnonzero((np.arange(40) % 2 == 1) & (labels[:, 1] != -1))
        np.testing.assert_array_equal(ds.indices, expected)
        np.testing.assert_array_equal(ds.labels, labels[expected, 1])
        self.assertEqual(len(ds), len(expected))
        with self.assertRaises(OSError):
            ds[0]  # only now are images read

    def test_construction_leaves_no_file_open(self):
        write_batch_set(self.path("set"), [5, 5])
        before = open_hdf5_files()
        ds = H5Dataset(self.path("set"))
        self.assertEqual(open_hdf5_files(), before)
        self.assertEqual(ds._handles, {})
        ds[0], ds[len(ds) - 1]
        self.assertEqual(open_hdf5_files(), before + 2)  # one per file read, opened on demand
        ds.close()
        self.assertEqual(open_hdf5_files(), before)

    def test_pickling_drops_open_handles(self):
        write_dataset(self.path("ds.h5"), 10)
        ds = H5Dataset(self.path("ds.h5"))
        first = ds[0]
        self.assertEqual(len(ds._handles), 1)
        copy = pickle.loads(pickle.dumps(ds))  # an h5py handle cannot be pickled: this fails if one is carried
        self.assertEqual(copy._handles, {})
        self.assertTrue(torch.equal(copy[0][0], first[0]))
        np.testing.assert_array_equal(copy.labels, ds.labels)
        ds.close()
        copy.close()


def note_worker_start(directory, worker_id):
    """worker_init_fn: what the worker's copy of the dataset held before its first read."""
    info = torch.utils.data.get_worker_info()
    with open(os.path.join(directory, f"worker-{worker_id}.json"), "w") as out:
        json.dump({"pid": os.getpid(), "handles": len(info.dataset._handles)}, out)


def with_pid(batch):
    """collate_fn (it runs in the worker): the default collate plus the worker's pid."""
    images, labels = torch.utils.data.default_collate(batch)
    return images, labels, os.getpid()


if not MISSING:

    class RecordingDataset(H5Dataset):
        """Items also say which process read them and through which h5py.File (object and HDF5 id).

        HDF5 hands out increasing ids, so a file opened in a worker never has the parent's id, even
        where the worker's File object lands at the address the parent's had.
        """

        def __getitem__(self, item):
            image, label = super().__getitem__(item)
            handle = self._handles[self._file_of[item]][0]
            return image, label, os.getpid(), id(handle), handle.id.id


@unittest.skipIf(MISSING, MISSING)
class WorkerTest(TempDirTest):
    def test_each_worker_opens_its_own_handle(self):
        labels = write_dataset(self.path("ds.h5"), 200)
        before = open_hdf5_files()
        ds = RecordingDataset(self.path("ds.h5"))
        self.assertEqual(ds._handles, {})
        self.assertEqual(open_hdf5_files(), before)  # nothing for a forked worker to inherit
        loader = DataLoader(ds, batch_size=8, num_workers=2, worker_init_fn=functools.partial(note_worker_start, self.dir))
        seen_labels, seen_rows, handles = [], [], {}
        for images, batch_labels, pids, handle_ids, _ in loader:
            seen_labels += batch_labels.tolist()
            seen_rows += [row_of(image[0].numpy()) for image in images]
            for pid, handle in zip(pids.tolist(), handle_ids.tolist()):
                handles.setdefault(pid, set()).add(handle)
        self.assertEqual(len(handles), 2, f"two worker processes, got {handles}")
        self.assertNotIn(os.getpid(), handles)
        for pid, ids in handles.items():
            self.assertEqual(len(ids), 1, f"worker {pid} opened the file once and kept it: {ids}")
        starts = []
        for worker in (0, 1):
            with open(self.path(f"worker-{worker}.json")) as f:
                starts.append(json.load(f))
        self.assertEqual(sorted(s["pid"] for s in starts), sorted(handles))
        self.assertEqual([s["handles"] for s in starts], [0, 0], "no handle came from the parent")
        known = np.flatnonzero(labels[:, 0] != -1)
        self.assertEqual(seen_labels, labels[known, 0].tolist())
        self.assertEqual(seen_rows, known.tolist())
        self.assertEqual(ds._handles, {})
        self.assertEqual(open_hdf5_files(), before)

    def test_workers_do_not_use_a_handle_the_parent_opened(self):
        labels = write_dataset(self.path("ds.h5"), 64)
        ds = RecordingDataset(self.path("ds.h5"))
        parent_hid = ds[0][4]  # the parent reads first: its handle is in the dataset when workers fork
        loader = DataLoader(ds, batch_size=4, num_workers=2)
        seen, hids = [], {}
        for _, batch_labels, pids, _, batch_hids in loader:
            seen += batch_labels.tolist()
            for pid, hid in zip(pids.tolist(), batch_hids.tolist()):
                hids.setdefault(pid, set()).add(hid)
        self.assertEqual(len(hids), 2)
        for pid, ids in hids.items():
            self.assertEqual(len(ids), 1)
            self.assertNotIn(parent_hid, ids, f"worker {pid} read through the parent's handle")
        self.assertEqual(seen, [v for v in labels[:, 0].tolist() if v != -1])
        self.assertEqual(ds[1][4], parent_hid)  # the parent keeps its own
        ds.close()

    def test_spawned_workers(self):
        labels = write_dataset(self.path("ds.h5"), 64, split=[0, 1] * 32)
        ds = H5Dataset(self.path("ds.h5"), split="train")
        loader = DataLoader(ds, batch_size=4, num_workers=2, multiprocessing_context="spawn", collate_fn=with_pid)
        seen, pids = [], set()
        for _, batch_labels, pid in loader:
            seen += batch_labels.tolist()
            pids.add(pid)
        self.assertEqual(len(pids), 2)
        self.assertNotIn(os.getpid(), pids)
        np.testing.assert_array_equal(seen, ds.labels)
        self.assertEqual(seen, [v for v, s in zip(labels[:, 0], [0, 1] * 32) if s == 0 and v != -1])


@unittest.skipIf(MISSING, MISSING)
class FixtureTest(unittest.TestCase):
    def test_row_numbers_round_trip(self):
        from fixtures import image_of

        for row in (0, 1, 5, 1000, 2**19 - 1):
            self.assertEqual(row_of(image_of(row, 3, 20)), row)
        self.assertEqual(labels_of([0, 1, 2], (1, 5)).tolist(), [[-1, 0], [0, 1], [1, -1]])


if __name__ == "__main__":
    unittest.main()
