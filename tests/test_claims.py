"""Tests of pathint_lib.claims and the ``python -m pathint_lib verify`` command."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from pathint_lib import claims as C
from pathint_lib.__main__ import main

FAST = ["path-counts", "enumeration-equals-path-sum", "path-sum-equals-network",
        "straight-path-action-numeric", "lattice-to-heat-kernel"]


def test_registry_is_well_formed():
    names = [c.name for c in C.CLAIMS]
    assert len(names) == len(set(names))
    assert {c.chapter for c in C.CLAIMS} >= {1, 2, 3, 4, 5}
    assert [c.chapter for c in C.CLAIMS] == sorted(c.chapter for c in C.CLAIMS)
    for required in ("path-sum-equals-network", "enumeration-equals-path-sum",
                     "lattice-to-heat-kernel", "chapman-kolmogorov-sympy",
                     "chapman-kolmogorov-quadrature", "feynman-kac",
                     "straight-path-action-sympy", "kernel-coefficients-inverse",
                     "max-amplification", "moments-inverse"):
        assert required in names


def test_fast_claims_pass_on_cpu():
    records = C.run_all("cpu", names=FAST)
    assert [r.name for r in records] == [c.name for c in C.CLAIMS if c.name in FAST]
    for r in records:
        assert r.passed, (r.name, r.detail)
        assert r.device == "cpu" and r.seconds >= 0
        assert r.error <= r.tolerance


def test_claim_fails_when_the_mathematics_is_wrong(monkeypatch):
    import pathint_lib.paths as paths

    # Flip the layer weights left-right: the path sum no longer matches the stack.
    original = paths.layer_weights
    monkeypatch.setattr(paths, "layer_weights", lambda k: original(k)[::-1].copy())
    (record,) = C.run_all("cpu", names=["path-sum-equals-network"])
    assert not record.passed and record.error > record.tolerance


def test_crashing_claim_is_reported_not_raised():
    def broken(device):
        raise RuntimeError("boom")

    record = C.run_claim(C.Claim("broken", 5, "a claim that crashes", broken), "cpu")
    assert not record.passed and math.isnan(record.error)
    assert "RuntimeError: boom" in record.detail


def test_symbolic_claim_record():
    (record,) = C.run_all("cpu", names=["euler-local-error"])
    assert record.passed and record.device == "sympy"
    assert record.error == 0.0 and record.tolerance == 0.0


def test_markdown_and_table():
    records = C.run_all("cpu", names=["path-counts", "euler-local-error"])
    md = C.to_markdown(records)
    lines = md.strip().splitlines()
    assert lines[0].startswith("| chapter | claim | max error | tolerance |")
    assert len(lines) == 2 + len(records)
    assert "| 5 |" in md and "0 (exact)" in md
    table = C.format_table(records)
    assert "pass" in table and "max error" in table


def test_run_all_rejects_unknown_names_and_devices():
    with pytest.raises(ValueError, match="unknown claim"):
        C.run_all("cpu", names=["no-such-claim"])
    with pytest.raises(ValueError, match="unknown device"):
        C.run_all("tpu")


def test_cli_unknown_device_exits_2(capsys):
    assert main(["verify", "--device", "tpu"]) == 2
    assert "unknown device 'tpu'" in capsys.readouterr().err


def test_cli_missing_gpu_exits_2(capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has cuda")
    assert main(["verify", "--device", "cuda"]) == 2
    assert "not available" in capsys.readouterr().err


def test_cli_chapter_run_writes_json(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PATHINT_DEVICE", raising=False)
    out = tmp_path / "records.json"
    status = main(["verify", "--claim", "path-counts", "--claim", "sign-problem",
                   "--json", str(out)])
    text = capsys.readouterr().out
    assert status == 0, text
    if not (torch.cuda.is_available() or torch.backends.mps.is_available()):
        assert "no GPU found; running on cpu" in text
    assert "claims passed" in text and "path" in text
    records = json.loads(out.read_text())
    assert [r["name"] for r in records] == ["path-counts", "sign-problem"]
    assert all(r["chapter"] == 5 and r["passed"] for r in records)


def test_cli_exit_status_1_on_failure(monkeypatch, capsys):
    import pathint_lib.paths as paths

    monkeypatch.setattr(paths, "path_counts", lambda d: np.ones(2 * d + 1, dtype=int))
    assert main(["verify", "--device", "cpu", "--claim", "path-counts"]) == 1
    assert "FAILED path-counts" in capsys.readouterr().out


def test_cli_usage_error_exits_2(capsys):
    assert main([]) == 2
    assert main(["verify", "--claim", "no-such-claim"]) == 2
    assert "unknown claim" in capsys.readouterr().err


@pytest.mark.slow
def test_verify_all_claims_subprocess():
    proc = subprocess.run(
        [sys.executable, "-m", "pathint_lib", "verify", "--device", "cpu"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAIL" not in proc.stdout
