"""The likelihood demo's tabulation: the ranking comparison, the table and the figure (the training is the
presets' and is tested there; the estimators in tests/test_metrics_likelihood.py)."""

from gankit.theory.likelihood import PAPER_TABLE1, WU_TABLE2, _ranking_figure, discordant_pairs, table_markdown


def test_discordant_pairs_counts_swapped_orders():
    assert discordant_pairs([1, 2, 3, 4], [10, 20, 30, 40]) == 0
    assert discordant_pairs([1, 2, 3, 4], [40, 30, 20, 10]) == 6
    assert discordant_pairs([1, 2, 3], [1, 3, 2]) == 1


def _numbers():
    rows = [{"model": f"m{i}", "parzen_ll": p, "parzen_se": 1.0, "parzen_sigma": 0.2, "ais_ll_01": a, "ais_se": 2.0,
             "ais_sigma_01": 0.1, "bdmc_gap": 3.0, "ais_minus_parzen": a - p, "fid_cnn": 10.0}
            for i, (p, a) in enumerate([(100.0, 500.0), (90.0, 700.0)])]
    rows[1]["iwae_01"] = 650.0
    rows[0]["ais_sigma_at_edge"] = True
    controls = [{"model": "training digits as samples", "parzen_ll": 170.0, "parzen_se": 4.0, "parzen_sigma": 0.2,
                 "fid_cnn": 0.0},
                {"model": "k-means", "parzen_ll": 190.0, "parzen_se": 5.0, "parzen_sigma": 0.17, "fid_cnn": 50.0}]
    return {"units": "nats", "quick": True, "rows": rows, "controls": controls, "discordant_pairs": 1, "pairs": 1,
            "same_ranking": False, "kmeans_beats_training_digits": True}


def test_table_has_every_row_and_both_papers():
    text = table_markdown(_numbers())
    for name in ("m0", "m1", "training digits as samples", "k-means", *(m for m, *_ in PAPER_TABLE1),
                 *(m for m, *_ in WU_TABLE2)):
        assert f"| {name} |" in text
    assert "| m1 | 90.0 ± 1.0 (0.200) | 700.0 ± 2.0 (0.1) | 3.0 | 650.0 | 610.0 | 10.0 |" in text
    assert "| m0 | 100.0 ± 1.0 (0.200) | 500.0 ± 2.0 (0.1†) |" in text
    assert "differently (1 of 1 pairs swapped)" in text and "the k-means control beats" in text
    assert "| GAN-50 | 627.3 | 300.3 | 327.0 |" in text


def test_ranking_figure_is_written(tmp_path):
    numbers = _numbers()
    _ranking_figure(numbers["rows"], numbers["controls"], tmp_path / "ranking.png")
    assert (tmp_path / "ranking.png").stat().st_size > 5000
    assert "_rank_0" not in numbers["rows"][0]  # the rows are left as they were
