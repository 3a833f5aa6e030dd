#!/usr/bin/env python3
"""Train the chart CNN of Jiang, Kelly & Xiu (2023), "(Re-)Imag(in)ing Price Trends", on a dataset
built by `ohlc-native build`, report validation accuracy, save the weights and version them with
`ohlc-native models save`.

    python3 examples/pytorch/train.py --data data/processed/ds.h5 --horizon 5 --epochs 1

Per-batch losses go to stdout as `epoch E batch B loss X`; the last stdout line is one JSON object:
{"train_batches", "final_loss", "val_accuracy", "val_rows", "validation", "worker_pids", "model",
"version_command", "versioned"}.
"""

import argparse
import json
import math
import os
import shlex
import subprocess
import sys

import h5py
import torch
from torch import nn
from torch.utils.data import DataLoader, Subset, default_collate

try:
    from ohlc_native import H5Dataset, resolve_files, to_ink
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
    from ohlc_native import H5Dataset, resolve_files, to_ink


class ChartCNN(nn.Module):
    """Blocks of conv 5x3 (same size) + BatchNorm + LeakyReLU(0.01) + MaxPool(2, 1), doubling the
    channels each block (64, 128, 256 in the paper), then dropout 0.5 and a linear layer to 2
    classes; Xavier-initialised."""

    def __init__(self, height, width, layout="ohlc-4px", blocks=3, channels=64, dropout=0.5):
        super().__init__()
        self.layout = layout
        layers, c_in, h = [], 1, height
        for block in range(blocks):
            c_out = channels * 2**block
            layers += [
                nn.Conv2d(c_in, c_out, kernel_size=(5, 3), padding=(2, 1)),
                nn.BatchNorm2d(c_out),
                nn.LeakyReLU(0.01),
                nn.MaxPool2d((2, 1)),
            ]
            c_in, h = c_out, h // 2
        if h == 0:
            raise ValueError(f"{blocks} blocks halve the height {blocks} times: too many for images {height} high")
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(c_in * h * width, 2))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, images):
        # The network sees the paper's white bars on black (ink 1.0), whatever the dataset's layout stores.
        return self.head(self.features(to_ink(images, self.layout)))


def collate_with_pid(batch):
    """The default collate, plus the pid of the process that loaded the batch (a worker)."""
    images, labels = default_collate(batch)
    return images, labels, os.getpid()


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", required=True, help="dataset: .h5 file, batch set (first file or stem) or merged master")
    p.add_argument("--horizon", type=int, default=None, help="label horizon in bars (a value of the horizons attribute; default the first)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--max-batches", type=int, default=None, help="stop training after this many batches in all")
    p.add_argument("--max-val-batches", type=int, default=None, help="validate on at most this many batches")
    p.add_argument("--num-workers", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-5, help="Adam learning rate (the paper's 1e-5)")
    p.add_argument("--blocks", type=int, default=3)
    p.add_argument("--channels", type=int, default=64, help="channels of the first block; doubled in each next one")
    p.add_argument("--val-fraction", type=float, default=0.2, help="held-out tail when the dataset has no split array")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", default="model.pt", help="where torch.save writes the state_dict")
    p.add_argument("--name", default=None, help="model name for `models save` (default: cnn-h<horizon>)")
    p.add_argument("--ohlc-native", default="npx ohlc-native", help="how to run the ohlc-native CLI")
    p.add_argument("--no-version", action="store_true", help="do not run `ohlc-native models save`")
    return p.parse_args(argv)


def has_split_array(data):
    with h5py.File(resolve_files(data)[0], "r") as f:
        return "split" in f


def datasets(args):
    """(train rows, validation rows, the H5Dataset they come from, how validation rows were chosen)."""
    if has_split_array(args.data):
        train = H5Dataset(args.data, split="train", horizon=args.horizon)
        val = H5Dataset(args.data, split="val", horizon=args.horizon)
        return train, val, train, "val split"
    full = H5Dataset(args.data, horizon=args.horizon)
    n_val = max(1, math.ceil(len(full) * args.val_fraction))
    if len(full) <= n_val:
        raise SystemExit(f"{args.data}: {len(full)} labelled rows, too few to hold out {n_val}")
    print(
        f"{args.data} has no split array: validating on the last {n_val} of {len(full)} rows "
        f"(held-out tail, {args.val_fraction:.0%}, later in time than the training rows)",
        flush=True,
    )
    return Subset(full, range(len(full) - n_val)), Subset(full, range(len(full) - n_val, len(full))), full, "held-out tail"


def train(args):
    torch.manual_seed(args.seed)
    train_set, val_set, source, validation = datasets(args)
    # From the metadata, not an item: reading one here would open a file before the workers fork.
    height, width = source.metadata["height"], source.metadata["width"]
    model = ChartCNN(height, width, source.layout, blocks=args.blocks, channels=args.channels).to(args.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()

    def loader(dataset, shuffle):
        return DataLoader(
            dataset, batch_size=args.batch_size, shuffle=shuffle, num_workers=args.num_workers,
            collate_fn=collate_with_pid, pin_memory=args.device.startswith("cuda"),
            generator=torch.Generator().manual_seed(args.seed),
        )

    batches, pids, epoch_losses = 0, set(), []
    for epoch in range(args.epochs):
        model.train()
        epoch_losses = []
        for images, labels, pid in loader(train_set, shuffle=True):
            loss = loss_fn(model(images.to(args.device)), labels.to(args.device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            batches += 1
            pids.add(pid)
            epoch_losses.append(loss.item())
            print(f"epoch {epoch} batch {batches} loss {loss.item():.6f}", flush=True)
            if not math.isfinite(loss.item()):
                raise SystemExit(f"loss is {loss.item()} at batch {batches}: stopping")
            if args.max_batches is not None and batches >= args.max_batches:
                break
        if args.max_batches is not None and batches >= args.max_batches:
            break
    if batches == 0:
        raise SystemExit("no training batches (empty train split?)")

    model.eval()
    correct = seen = 0
    with torch.no_grad():
        for i, (images, labels, _) in enumerate(loader(val_set, shuffle=False)):
            if args.max_val_batches is not None and i >= args.max_val_batches:
                break
            predicted = model(images.to(args.device)).argmax(dim=1).cpu()
            correct += int((predicted == labels).sum())
            seen += len(labels)
    if seen == 0:
        raise SystemExit("no validation rows (empty val split?)")
    final_loss = sum(epoch_losses) / len(epoch_losses)  # mean over the last epoch's batches
    return model, source.horizon, {
        "train_batches": batches,
        "final_loss": final_loss,
        "val_accuracy": correct / seen,
        "val_rows": seen,
        "validation": validation,
        "worker_pids": sorted(pids),
    }


def main(argv=None):
    args = parse_args(argv)
    model, horizon, summary = train(args)
    torch.save(model.state_dict(), args.out)
    summary["model"] = os.path.abspath(args.out)
    print(f"saved {summary['model']} (validation accuracy {summary['val_accuracy']:.4f} on {summary['val_rows']} rows, {summary['validation']})", flush=True)

    summary["version_command"] = None
    summary["versioned"] = False
    status = 0
    if not args.no_version:
        command = shlex.split(args.ohlc_native) + [
            "models", "save", args.out,
            "--name", args.name or f"cnn-h{horizon}",
            "--metrics", f"val_accuracy={summary['val_accuracy']}",
            "--metrics", f"loss={summary['final_loss']}",
            "--dataset", args.data,
        ]
        summary["version_command"] = shlex.join(command)
        print(f"versioning: {summary['version_command']}", flush=True)
        try:
            status = subprocess.run(command, check=False).returncode
        except OSError as error:
            print(f"could not run {command[0]}: {error}", file=sys.stderr)
            status = 1
        if status != 0:
            print(f"versioning failed (exit {status}); the model is saved at {summary['model']}", file=sys.stderr)
        summary["versioned"] = status == 0
    print(json.dumps(summary), flush=True)
    return 0 if status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
