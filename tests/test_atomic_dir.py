"""Directories replaced through domainforge.atomic_dir keep a loadable version through a failed
write, a failed swap and a crash between the swap's two renames (real files, nothing mocked)."""
import numpy as np
import pytest

from domainforge.atomic_dir import _set_aside, readable, recover, replacing, staging_path, swap_in
from domainforge.datasets.hf_model import HFModelDataset
from domainforge.datasets.tuned_embedder import TunedEmbedderDataset
from domainforge.retrieval.tuning.embedder_tuning import TunedEmbedder


def model_dir(path, version: str):
    path.mkdir(parents=True)
    (path / "config.json").write_text(f'{{"version": "{version}"}}')
    return path


def test_a_failed_write_or_swap_leaves_the_old_version_in_place(tmp_path):
    target = model_dir(tmp_path / "model", "old")
    with pytest.raises(RuntimeError), replacing(target) as staging:
        (staging / "config.json").write_text("half")
        raise RuntimeError("disk full")
    with pytest.raises(FileNotFoundError):  # the second rename fails: its source is gone
        swap_in(tmp_path / "never_written", target)
    assert (target / "config.json").read_text() == '{"version": "old"}'
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_an_owner_recovers_the_set_aside_version_at_startup(tmp_path):
    """What the training engine and the base-model step do before asking "is it finished?"."""
    target = model_dir(tmp_path / "final", "old")
    staging_path(target).mkdir()
    _set_aside(target)
    recover(target)
    assert (target / "config.json").read_text() == '{"version": "old"}'
    assert [p.name for p in tmp_path.iterdir()] == ["final"]


def test_a_crash_between_the_renames_keeps_the_previous_model_and_weights_loadable(tmp_path):
    model = HFModelDataset(str(tmp_path / "models" / "sft_model"))
    model.save(model_dir(tmp_path / "run1", "old"))
    weights = TunedEmbedderDataset(str(tmp_path / "rag_embedder"))
    weights.save(TunedEmbedder({"w": np.ones(3, np.float32)}, {"pairs": 3}))
    for dataset in (model, weights):
        target = dataset._filepath
        half = staging_path(target)  # what the crashed writer left: its half-written new version...
        half.mkdir()
        (half / "config.json").write_text("half")
        _set_aside(target)  # ...after step 1 of the swap, before step 2
        assert not target.exists() and dataset.exists()
    assert (model.load().path / "config.json").read_text() == '{"version": "old"}'
    assert np.array_equal(weights.load().weights["w"], np.ones(3, np.float32))

    # The next write puts the set-aside version back first, then swaps in its own.
    model.save(model_dir(tmp_path / "run2", "new"))
    weights.save(TunedEmbedder(None, {"pairs": 3}))
    assert (model.load().path / "config.json").read_text() == '{"version": "new"}'
    assert model.load().path == readable(model._filepath) == model._filepath
    assert weights.load().weights is None
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["sft_model"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models", "rag_embedder", "run1", "run2"]
