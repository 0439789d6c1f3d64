"""Tests of pathint_lib.train: the training loop, divergence, plots and the CLI."""

import json
import math
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import torch

from pathint_lib import train as T
from pathint_lib.data import load_data
from pathint_lib.models import build_model, count_parameters

ROOT = pathlib.Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny():
    return load_data().subset(n_train=200, n_test=200)


def _cli(*args, cwd):
    env = {**os.environ, "PATHINT_DEVICE": "cpu"}
    return subprocess.run(
        [sys.executable, "-m", "pathint_lib.train", *args, "--no-progress",
         "--threads", "1"],
        cwd=cwd, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True,
        text=True, timeout=120,
    )


def test_one_tiny_epoch_returns_metrics(tiny):
    model = build_model("pde", 2, seed=0)
    m = T.train(model, tiny, epochs=1, batch_size=50, lr=1e-2, seed=0,
                device="cpu", progress=False, threads=1)
    assert m["model"] == "PDEOperatorNet" and m["device"] == "cpu"
    assert m["n_parameters"] == count_parameters(model)
    sizes = (m["n_train"], m["n_test"], m["epochs"], m["batch_size"])
    assert sizes == (200, 200, 1, 50)
    for key in ("train_loss", "train_acc", "test_loss", "test_acc",
                "seconds_per_epoch", "images_per_second"):
        assert len(m[key]) == 1 and math.isfinite(m[key][0]), key
    assert m["epoch"] == [1]
    assert 0.0 <= m["train_acc"][0] <= 1.0 and 0.0 <= m["test_acc"][0] <= 1.0
    assert m["final_test_acc"] == m["test_acc"][0]
    assert m["images_per_second"][0] > 0
    json.dumps(m)  # plain numbers and strings only
    # the reported test accuracy is the model's accuracy after training
    _, acc = T.evaluate(model, tiny.x_test, tiny.y_test)
    assert acc == m["test_acc"][0]


def test_training_is_deterministic_and_learns(tiny):
    def run():
        model = build_model("resnet", 1, seed=3)
        return T.train(model, tiny, epochs=3, batch_size=25, seed=5, device="cpu",
                       progress=False, threads=1)

    first, second = run(), run()
    assert first["train_loss"] == second["train_loss"]
    assert first["test_acc"] == second["test_acc"]
    assert first["train_loss"][2] < first["train_loss"][0]
    assert first["test_acc"][2] > 0.2  # chance is 0.1


def test_threads_restored(tiny):
    before = torch.get_num_threads()
    T.train(build_model("plain", 0, seed=0), tiny.subset(20, 20), epochs=1,
            progress=False, device="cpu", threads=1)
    assert torch.get_num_threads() == before


def test_nan_loss_raises_with_epoch(tiny):
    """A hook turns the logits into NaN from the second epoch on."""
    model = build_model("pde", 1, seed=0, tau=0.5)
    calls = {"n": 0}
    batches_per_epoch = 4  # 200 images, batch 50

    def poison(module, inputs, output):
        if module.training:
            calls["n"] += 1
            if calls["n"] > batches_per_epoch + 1:  # batch 2 of epoch 2
                return output * float("nan")
        return output

    model.head.register_forward_hook(poison)
    with pytest.raises(T.TrainingDiverged, match=r"diverged in epoch 2 \(batch 2 of 4"
                       r"\).*lr=0\.01.*tau=0\.5") as info:
        T.train(model, tiny, epochs=3, batch_size=50, lr=1e-2, device="cpu",
                progress=False, threads=1)
    assert isinstance(info.value, ValueError)
    assert (info.value.epoch, info.value.batch) == (2, 2)
    assert math.isnan(info.value.loss)


def test_nan_on_test_set_raises(tiny):
    model = build_model("plain", 1, seed=0)
    model.head.register_forward_hook(
        lambda module, inputs, output: output if module.training else output / 0 * 0
    )
    with pytest.raises(T.TrainingDiverged, match=r"epoch 1 \(on the test set after "
                       r"batch 4 of 4\)"):
        T.train(model, tiny, epochs=2, batch_size=50, device="cpu", progress=False,
                threads=1)


def test_absurd_learning_rate_diverges(tiny):
    model = build_model("resnet", 2, seed=0)
    with pytest.raises(T.TrainingDiverged, match="epoch 1 .*lr=1e\\+06 is probably "
                       "too high") as info:
        T.train(model, tiny, epochs=2, batch_size=50, lr=1e6, device="cpu",
                progress=False, threads=1)
    assert "tau" not in str(info.value)  # a ResNet has no step tau


def test_train_argument_errors(tiny):
    model = build_model("plain", 1)
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        T.train(model, tiny, epochs=0, progress=False)
    with pytest.raises(ValueError, match="lr must be > 0"):
        T.train(model, tiny, lr=-1.0, progress=False)
    with pytest.raises(TypeError, match="data must be a DigitData"):
        T.train(model, (tiny.x_train, tiny.y_train), progress=False)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        T.train(model, tiny, device="tpu", progress=False)


def test_train_models_and_plot(tiny):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    small = tiny.subset(100, 100)
    runs = T.train_models(small, names=("pde", "plain"), depth=1, seeds=(0, 1),
                          epochs=2, device="cpu", progress=False, threads=1, tau=0.3)
    assert [(r["name"], r["seed"]) for r in runs] == [
        ("pde", 0), ("pde", 1), ("plain", 0), ("plain", 1)]
    assert runs[0]["train_loss"] != runs[1]["train_loss"]  # seeds differ
    assert runs[0]["depth"] == 1 and runs[2]["width"] == 8
    fig = T.plot_learning_curve(runs)
    ax_loss, ax_acc = fig.axes
    assert ax_loss.get_xlabel() == "epoch" and "loss" in ax_loss.get_ylabel()
    assert ax_acc.get_ylabel() == "accuracy"
    assert len(ax_acc.lines) == 2 * len(runs)
    np.testing.assert_allclose(ax_acc.lines[1].get_ydata(), runs[0]["test_acc"])
    plt.close(fig)


def test_cli_in_process_diverged_is_one_line(tmp_path, capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise T.TrainingDiverged("training diverged in epoch 3 (batch 1 of 2)", 3, 1,
                                 float("inf"))

    monkeypatch.setattr(T, "train", boom)
    status = T.main(["--model", "pde", "--depth", "1", "--limit", "20",
                     "--out", str(tmp_path / "run"), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.strip() == "error: training diverged in epoch 3 (batch 1 of 2)"
    assert not (tmp_path / "run").exists()


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    status = T.main(["--model", "resnet", "--data", str(tmp_path / "none.npz"),
                     "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err.startswith("error: no such file or folder") and "\n" not in err
    assert T.main(["--model", "resnet", "--tau", "0.1", "--no-progress"]) == 2
    assert "--tau applies only to --model pde" in capsys.readouterr().err


def _check_run(out, line, n_train, n_test):
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["n_train"], metrics["n_test"]) == (n_train, n_test)
    assert f"{metrics['final_test_acc']:.4f}" in line and "test accuracy" in line
    assert (out / "learning_curve.png").read_bytes()[:8] == PNG_MAGIC
    return metrics


def test_cli_end_to_end_embedded_in_process(tmp_path, capsys):
    import matplotlib

    backend = matplotlib.get_backend()
    style = dict(matplotlib.rcParams)
    out = tmp_path / "run"
    status = T.main(["--model", "pde", "--depth", "2", "--epochs", "2", "--seed", "1",
                     "--limit", "200", "--out", str(out), "--no-progress",
                     "--threads", "1", "--device", "cpu"])
    assert status == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "pde depth 2" in lines[0]
    metrics = _check_run(out, lines[0], 200, 1000)
    assert metrics["epoch"] == [1, 2] and metrics["seed"] == 1
    assert metrics["name"] == "pde" and metrics["depth"] == 2
    # the CLI leaves matplotlib's global state alone (safe to call from a notebook)
    assert matplotlib.get_backend() == backend
    assert dict(matplotlib.rcParams) == style


@pytest.mark.slow
def test_cli_subprocess_embedded(tmp_path):
    out = tmp_path / "run"
    proc = _cli("--model", "resnet", "--depth", "1", "--epochs", "1", "--limit", "200",
                "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    _check_run(out, lines[0], 200, 1000)


def test_cli_default_out_and_local_npz(tmp_path):
    data = load_data().subset(n_train=100, n_test=50)
    to_bytes = lambda x: np.round(x[:, 0].numpy() * 255).astype(np.uint8)  # noqa: E731
    np.savez(tmp_path / "mine.npz", x_train=to_bytes(data.x_train),
             y_train=data.y_train.numpy(), x_test=to_bytes(data.x_test),
             y_test=data.y_test.numpy())
    proc = _cli("--model", "plain", "--depth", "1", "--epochs", "1",
                "--data", "mine.npz", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    metrics = _check_run(tmp_path / "runs" / "plain-d1-s0", lines[0], 100, 50)
    assert "mine.npz" in metrics["data_source"]


@pytest.mark.slow
def test_cli_diverged_subprocess(tmp_path):
    proc = _cli("--model", "resnet", "--depth", "2", "--lr", "1e6", "--limit", "200",
                "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error: training diverged in epoch 1")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_cli_warning_is_one_line(tmp_path, capsys):
    status = T.main(
        ["--model", "pde", "--tau", "2", "--depth", "1", "--epochs", "1",
         "--limit", "20", "--threads", "1", "--device", "cpu", "--no-progress",
         "--out", str(tmp_path / "run")]
    )
    err = capsys.readouterr().err
    assert status == 0
    assert "warning: tau=2.0 > 1: explicit PDE steps" in err
    assert "_CLASSES" not in err and "Warning:" not in err
