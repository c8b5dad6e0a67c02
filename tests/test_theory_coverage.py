import pytest
import torch

from gankit.theory import coverage


def test_held_out_draw_is_per_class_and_seeded():
    x, y = coverage.held_out_draw(3, seed=0)
    assert x.shape == (30, 1, 28, 28) and y.tolist() == [c for c in range(10) for _ in range(3)]
    x2, _ = coverage.held_out_draw(3, seed=0)
    x3, _ = coverage.held_out_draw(3, seed=1)
    assert torch.equal(x, x2) and not torch.equal(x, x3)


@pytest.mark.slow
def test_generator_trained_on_half_the_classes_is_caught_by_inversion(tmp_path):
    # Issue 12's acceptance, on the demo's run (2,000 steps of mnist5k-dcgan on 0-4, 20 held-out
    # digits per class): held-out 5-9 are reconstructed at least 1.3x worse than 0-4, while a control
    # generator trained the same way on all ten classes sees the two halves alike (under 1.3x).
    numbers = coverage.run(tmp_path, seed=0)
    half, control = numbers["half"], numbers["control"]
    assert half["inversion_ratio"] >= 1.3
    assert control["inversion_ratio"] < 1.2
    assert half["inversion_untrained"] > control["inversion_untrained"]
    assert (tmp_path / "coverage.png").read_bytes()[:4] == b"\x89PNG"
    for m in (half, control):  # the means of the halves are the means of their classes (20 digits each)
        per_class = {int(k): v for k, v in m["inversion_per_class"].items()}
        torch.testing.assert_close(m["inversion_trained"], sum(per_class[c] for c in range(5)) / 5)
        torch.testing.assert_close(m["inversion_untrained"], sum(per_class[c] for c in range(5, 10)) / 5)
