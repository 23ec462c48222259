"""Tests of the figures and the Markdown table, from synthetic records."""

import math

import numpy as np
import pytest

from arbnet_keras.experiments import SweepSpec
from arbnet_keras.experiments import accuracy_vs_alpha
from arbnet_keras.experiments import accuracy_vs_entropy
from arbnet_keras.experiments import accuracy_vs_radius
from arbnet_keras.experiments import accuracy_vs_sparsity
from arbnet_keras.experiments import append_result
from arbnet_keras.experiments import dirichlet_heatmaps
from arbnet_keras.experiments import plot_results
from arbnet_keras.experiments import results_table
from arbnet_keras.experiments import run_key
from arbnet_keras.experiments import summarize
from arbnet_keras.experiments.results import write_spec

pytest.importorskip("matplotlib")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fake_records(spec):
    """Records whose accuracy is a known function of the configuration."""
    records = []
    for config in spec.runs():
        value = config["hash_value"] or 0
        accuracy = 0.5 + 0.1 * math.log10(1 + value) - 0.1 * config["sparsity"]
        accuracy += 0.01 if config["seed"] == 1 else -0.01
        if config["numbering"] == "in_out":
            accuracy -= 0.05
        records.append(
            {
                "key": run_key(config),
                **config,
                "test_accuracy": accuracy,
                "train_accuracy": accuracy + 0.05,
                "test_loss": 1.0 - accuracy,
                "train_loss": 0.9 - accuracy,
                "entropy": min(math.log(1000), 3.0 + math.log10(1 + value)),
                "max_entropy": math.log(1000),
            }
        )
    return records


DIRICHLET = SweepSpec(
    "dirichlet", alpha=[0.01, 1.0, 100.0], sparsity=[0, 0.5], seeds=2
)
NEIGHBORHOOD = SweepSpec(
    "neighborhood", radius=[0, 10, 500], sparsity=[0, 0.9], seeds=2
)


def test_summarize_aggregates_over_seeds():
    rows = summarize(fake_records(DIRICHLET))
    assert len(rows) == 6
    row = next(
        r for r in rows if r["hash_value"] == 1.0 and r["sparsity"] == 0.5
    )
    expected = 0.5 + 0.1 * math.log10(2) - 0.05
    assert row["n"] == 2
    assert row["seeds"] == [0, 1]
    assert row["test_accuracy_mean"] == pytest.approx(expected)
    # Sample std of (m - 0.01, m + 0.01).
    assert row["test_accuracy_std"] == pytest.approx(0.01 * math.sqrt(2))
    assert row["test_accuracy_min"] == pytest.approx(expected - 0.01)
    assert row["test_accuracy_max"] == pytest.approx(expected + 0.01)
    assert row["max_entropy"] == pytest.approx(math.log(1000))
    # Sorted by sparsity, then alpha.
    assert [(r["sparsity"], r["hash_value"]) for r in rows] == [
        (0.0, 0.01),
        (0.0, 1.0),
        (0.0, 100.0),
        (0.5, 0.01),
        (0.5, 1.0),
        (0.5, 100.0),
    ]


def test_accuracy_vs_alpha_figure():
    fig = accuracy_vs_alpha(fake_records(DIRICHLET))
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    assert "α" in ax.get_xlabel()
    assert ax.get_ylabel().startswith("Test accuracy")
    assert "Figure 2" in fig.get_suptitle()
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "sparsity"
    assert [t.get_text() for t in legend.get_texts()] == ["0", "0.5"]
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), [0.01, 1.0, 100.0])
    expected = [0.5 + 0.1 * math.log10(1 + a) for a in (0.01, 1.0, 100.0)]
    np.testing.assert_allclose(line.get_ydata(), expected)


def test_numbering_variants_get_their_own_panels():
    spec = DIRICHLET.replace(numbering=("out_in", "in_out"))
    fig = accuracy_vs_alpha(fake_records(spec), error="minmax")
    titles = sorted(ax.get_title() for ax in fig.axes)
    assert titles == ["numbering=in_out", "numbering=out_in"]
    assert all("min-max" in ax.get_ylabel() for ax in fig.axes)


def test_accuracy_vs_entropy_marks_the_maximum():
    fig = accuracy_vs_entropy(fake_records(DIRICHLET))
    (ax,) = fig.axes
    assert "entropy" in ax.get_xlabel().lower()
    assert ax.get_ylabel().startswith("Test accuracy")
    vertical = [
        line
        for line in ax.get_lines()
        if len(set(np.atleast_1d(line.get_xdata()))) == 1
        and line.get_label().startswith("ln n")
    ]
    assert len(vertical) == 1
    assert vertical[0].get_xdata()[0] == pytest.approx(math.log(1000))


def test_accuracy_vs_radius_figure():
    fig = accuracy_vs_radius(fake_records(NEIGHBORHOOD))
    (ax,) = fig.axes
    assert ax.get_xscale() == "symlog"
    assert "radius" in ax.get_xlabel()
    assert ax.get_ylabel().startswith("Test accuracy")
    assert "Figure 4" in fig.get_suptitle()
    assert len(ax.get_legend().get_texts()) == 2


def test_accuracy_vs_sparsity_figure():
    spec = SweepSpec("uniform", sparsity=[0, 0.5, 0.9], seeds=2)
    fig = accuracy_vs_sparsity(fake_records(spec))
    (ax,) = fig.axes
    assert "sparsity" in ax.get_xlabel()
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [0, 0.5, 0.9])


def test_plot_functions_reject_records_of_another_hash():
    with pytest.raises(ValueError, match="No dirichlet records"):
        accuracy_vs_alpha(fake_records(NEIGHBORHOOD))


def test_dirichlet_heatmaps():
    fig = dirichlet_heatmaps([1e-3, 1.0, 100.0], table_size=1000)
    images = [ax for ax in fig.axes if ax.get_images()]
    assert len(images) == 3
    assert images[0].get_images()[0].get_array().shape == (25, 40)
    assert images[0].get_title().startswith("α = 0.001")
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in images)
    assert "Figure 1" in fig.get_suptitle()
    # A prime size is padded into a near-square grid.
    fig = dirichlet_heatmaps([1.0], table_size=997)
    grid = fig.axes[0].get_images()[0].get_array()
    assert grid.size >= 997
    assert grid.shape[0] > 1


def test_results_table_content():
    table = results_table(fake_records(DIRICHLET), DIRICHLET)
    assert "Sweep: dirichlet sweep" in table
    assert "| alpha | sparsity 0 | sparsity 0.5 |" in table
    mean = 0.5 + 0.1 * math.log10(2)
    cell = f"{mean:.4f} ± {0.01 * math.sqrt(2):.4f} (n=2)"
    assert f"| 1 | {cell} |" in table
    assert "## All configurations" in table
    assert table.count("| dirichlet |") == 6


def test_results_table_without_records():
    assert "No finished runs yet." in results_table([])


def test_plot_results_writes_figures_and_table(tmp_path):
    write_spec(tmp_path, DIRICHLET.to_dict())
    for record in fake_records(DIRICHLET):
        append_result(tmp_path, record)
    paths = plot_results(tmp_path, formats=("png", "svg"))
    names = sorted(path.name for path in paths)
    assert names == [
        "fig1_dirichlet_heatmaps.png",
        "fig1_dirichlet_heatmaps.svg",
        "fig2_accuracy_vs_alpha.png",
        "fig2_accuracy_vs_alpha.svg",
        "fig3_accuracy_vs_entropy.png",
        "fig3_accuracy_vs_entropy.svg",
        "results.md",
    ]
    for path in paths:
        assert path.stat().st_size > 1000
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == PNG_MAGIC
    assert "| alpha | sparsity 0 |" in (tmp_path / "results.md").read_text()


def test_plot_results_of_a_neighborhood_sweep(tmp_path):
    for record in fake_records(NEIGHBORHOOD):
        append_result(tmp_path, record)
    names = sorted(p.name for p in plot_results(tmp_path, formats="pdf"))
    assert names == ["fig4_accuracy_vs_radius.pdf", "results.md"]


def test_plot_results_of_a_dirichlet_sweep_without_runs(tmp_path):
    write_spec(tmp_path, DIRICHLET.to_dict())
    names = sorted(p.name for p in plot_results(tmp_path))
    assert names == ["fig1_dirichlet_heatmaps.png", "results.md"]


def test_plot_results_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="`out_dir` holds no sweep"):
        plot_results(tmp_path / "empty")
    write_spec(tmp_path, DIRICHLET.to_dict())
    with pytest.raises(ValueError, match="Received: formats=\\('jpg',\\)"):
        plot_results(tmp_path, formats=("jpg",))
    with pytest.raises(ValueError, match="Received: error='sem'"):
        plot_results(tmp_path, error="sem")


def test_runs_without_test_accuracy_are_not_counted():
    records = fake_records(DIRICHLET)
    diverged = [r for r in records if r["hash_value"] == 100.0]
    for record in diverged:
        record.update(test_accuracy=None, test_loss=None)
    rows = summarize(records)
    row = next(r for r in rows if r["hash_value"] == 100.0)
    assert row["runs"] == 2 and row["n"] == 0 and row["seeds"] == []
    assert row["test_accuracy_n"] == 0 and row["test_accuracy_mean"] is None
    assert row["entropy_n"] == 2
    table = results_table(records, DIRICHLET)
    assert "12 finished runs in 6 configurations" in table
    assert "4 runs have no test accuracy (training diverged)" in table
    assert "| 100 | n/a | n/a |" in table
    # Figures leave the configurations without accuracy out.
    fig = accuracy_vs_alpha(records)
    (ax,) = fig.axes
    assert all(len(line.get_xdata()) == 2 for line in ax.get_lines())
