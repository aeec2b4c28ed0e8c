"""Regenerates assets/convnet_mnist.json: the reference ConvNet trained on the offline MNIST digits.

Run from the repository root:  ARENA_OFFLINE=1 .venv/bin/python -m course.chapter0_fundamentals.part3_resnets.assets.make_assets
The JSON holds the loss per step, the validation accuracy per epoch, the wall time and the data source;
the lesson's training-curve figure is drawn from it (training inside a figure would be too slow).
Wall time depends on what else the machine runs; CPU time (summed over torch's threads) is steadier."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch as t

from course.chapter0_fundamentals.part3_resnets.solutions import (
    ConvNet,
    ConvNetTrainingArgs,
    get_mnist_datasets,
    train_convnet,
)

OUT = Path(__file__).with_name("convnet_mnist.json")


def main() -> None:
    t.manual_seed(0)
    train_set, val_set, source = get_mnist_datasets(prefer_online=False)
    args = ConvNetTrainingArgs()
    start, cpu_start = time.perf_counter(), time.process_time()
    history = train_convnet(ConvNet(), train_set, val_set, args)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    record = {"source": source, "args": vars(args), "seconds": round(seconds, 1), "cpu_seconds": round(cpu_seconds, 1),
              "machine": f"{platform.machine()}, {t.get_num_threads()} torch threads (shared CPU)",
              "loss": [round(x, 5) for x in history["loss"]], "accuracy": history["accuracy"]}
    OUT.write_text(json.dumps(record, indent=1))
    print(f"{source}: validation accuracy {history['accuracy']} in {seconds:.1f} s wall, {cpu_seconds:.1f} s CPU")


if __name__ == "__main__":
    main()
