"""Part 0.4: the W&B trainer and the offline sweep run in offline mode in a temporary directory, and
what they logged is read back from the runs' files. Nothing touches the network."""

import socket
from functools import partial
from pathlib import Path

import optuna
import pytest

from course.chapter0_fundamentals.part4_optimization import checks
from course.chapter0_fundamentals.part4_optimization import solutions as ref


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the test tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)


def test_wandb_mode_is_offline_without_probing(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("ARENA_OFFLINE", "1")
    assert ref.wandb_mode() == "offline"
    assert "wandb sync" in capsys.readouterr().out
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert ref.wandb_mode() == "disabled"


def test_trainer_logs_loss_accuracy_and_examples() -> None:
    train_set, test_set = checks.tiny_datasets(n_train=10, n_test=5)
    args = ref.WandbResNetTrainingArgs(batch_size=4, epochs=2, n_examples=2, wandb_name="test")
    with checks.offline_wandb() as root:
        history = ref.WandbResNetTrainer(args, train_set, test_set, model=checks.tiny_model()).train()
        runs = checks.offline_runs(root)
        assert len(runs) == 1
        logged = ref.read_offline_run(runs[0])
        tables = list((runs[0] / "files" / "media" / "table").glob("examples_*.table.json"))
    assert len(history["loss"]) == 6 and len(history["accuracy"]) == 2
    assert [r["loss"] for r in logged["history"] if "loss" in r] == pytest.approx(history["loss"])
    assert [r["accuracy"] for r in logged["history"] if "accuracy" in r] == pytest.approx(history["accuracy"])
    assert logged["config"]["batch_size"] == 4 and logged["config"]["wandb_name"] == "test"
    assert len(tables) == 2  # one table of example predictions per epoch


def test_offline_sweep_runs_trials_logs_each_and_resumes(tmp_path: Path) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    train_set, test_set = checks.tiny_datasets(n_train=8, n_test=4)
    config = ref.make_sweep_config()
    config["parameters"].update(batch_size={"values": [4, 8]}, epochs={"value": 1})
    storage = f"sqlite:///{tmp_path / 'sweep.db'}"
    base = ref.WandbResNetTrainingArgs(n_examples=2, wandb_group="test-sweep")
    train_fn = partial(ref.sweep_train, train_set=train_set, test_set=test_set, base_args=base,
                       make_model=checks.tiny_model)
    with checks.offline_wandb() as root:
        study = ref.run_offline_sweep(config, train_fn, n_trials=3, storage=storage, study_name="t")
        runs = checks.offline_runs(root)
        logged = [ref.read_offline_run(r) for r in runs]
        study = ref.run_offline_sweep(config, train_fn, n_trials=1, storage=storage, study_name="t")
    assert len(study.trials) == 4  # resumed from the SQLite database
    assert len(runs) == 3
    # run directories are named by start second and a random id, so match runs to trials by their config
    by_lr = {run["config"]["learning_rate"]: run for run in logged}
    assert len(by_lr) == 3
    for trial in study.trials[:3]:
        run = by_lr[trial.params["learning_rate"]]
        assert run["config"]["batch_size"] == trial.params["batch_size"] and run["config"]["epochs"] == 1
        assert run["config"]["wandb_group"] == "test-sweep"
        assert [r["accuracy"] for r in run["history"] if "accuracy" in r] == [trial.value]
        assert 1e-4 <= trial.params["learning_rate"] <= 1e-1
    frame = study.trials_dataframe()
    assert len(frame) == 4 and "params_learning_rate" in frame
    fig = ref.plot_sweep(study)
    assert len(fig.data) == 2 and fig.layout.xaxis2.type == "log"  # batch_size, learning_rate (log) panels


def test_offline_sweep_rejects_invalid_config(tmp_path: Path) -> None:
    with pytest.raises(ref.SweepConfigError, match="unknown method"):
        ref.run_offline_sweep({"method": "gird", "parameters": {"x": {"value": 1}}}, lambda p: 0.0, 1,
                              storage=f"sqlite:///{tmp_path / 's.db'}")


def test_watch_logs_gradient_histograms_and_the_model_is_saved_as_an_artifact() -> None:
    """The lesson's watch + artifact cell, offline: histograms of every parameter's gradient (and, with
    log="all", of the parameters), and a 'model' artifact whose weights reload."""
    import torch
    import wandb

    train_set, test_set = checks.tiny_datasets(n_train=8, n_test=4)
    args = ref.WandbResNetTrainingArgs(batch_size=4, epochs=1, n_examples=1, wandb_name="watched")
    with checks.offline_wandb() as root:
        trainer = ref.WandbResNetTrainer(args, train_set, test_set, model=checks.tiny_model())
        wandb.watch(trainer.model, log="all", log_freq=1)
        for imgs, labels in trainer.train_loader:
            wandb.log({"loss": float(trainer.training_step(imgs, labels))})
        ref.save_model_artifact(trainer.model, "tiny", metadata={"accuracy": trainer.evaluate()})
        wandb.finish()
        logged = ref.read_offline_run(checks.offline_runs(root)[0])
        (artifact,) = logged["artifacts"]
        state = torch.load(artifact["files"]["model.pt"], weights_only=True)
    names = [name for name, _ in trainer.model.named_parameters()]
    keys = {k for row in logged["history"] for k in row}
    for name in names:
        assert f"gradients/{name}/values" in keys and f"parameters/{name}/values" in keys
    assert artifact["name"] == "tiny" and artifact["type"] == "model" and "accuracy" in artifact["metadata"]
    assert all(torch.equal(state[k], v) for k, v in trainer.model.state_dict().items())
