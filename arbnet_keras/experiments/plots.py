"""Figures and tables of a sweep, drawn from its results file alone.

Figures follow the ArbNets paper: Figure 1, heatmaps of the Dirichlet
hash's multinomial parameters; Figure 2, test accuracy against `alpha`;
Figure 3, test accuracy against the table's measured entropy; Figure 4,
test accuracy against the Neighborhood hash's `radius`. Each accuracy
figure has one line per sparsity, with error bars over seeds, and one
panel per value of any other setting that varies in the results (for
example `numbering` or `number_zeros`).

matplotlib is only imported by the functions that draw
(`pip install "arbnet-keras[plots]"`); figures are `matplotlib.figure.Figure`
objects, rendered with the Agg backend, so no display is needed.
"""

import json
import math
import pathlib

import numpy as np

from arbnet_keras.experiments.config import RUN_FIELDS
from arbnet_keras.experiments.expansion import spec_from_dict
from arbnet_keras.experiments.results import check_out_dir
from arbnet_keras.experiments.results import read_results
from arbnet_keras.experiments.results import read_spec
from arbnet_keras.experiments.results import results_path

DEFAULT_ALPHAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
FORMATS = ("png", "svg", "pdf")
ERRORS = ("std", "minmax")
METRICS = (
    "test_accuracy",
    "train_accuracy",
    "test_loss",
    "train_loss",
    "entropy",
)
TABLE_FILE = "results.md"

# Fields that are the axes of the figures, not panels.
_AXIS_FIELDS = ("hash_value", "sparsity", "seed")
_LABELS = {
    "test_accuracy": "Test accuracy",
    "train_accuracy": "Train accuracy",
    "test_loss": "Test loss",
    "train_loss": "Train loss",
    "entropy": "Entropy (nats)",
}


def summarize(records, metrics=METRICS):
    """Aggregates records over seeds.

    Args:
        records: Records of `read_results`.
        metrics: Names of the numeric fields to aggregate. Defaults to
            the accuracies, losses and entropy.

    Returns:
        A list of dicts, one per configuration (all of `RUN_FIELDS` but
        `seed`), sorted by hash, the other settings, sparsity and hash
        value. Each has the configuration's fields, `runs` (number of
        records), `n` and `seeds` (number and list of the seeds with a
        test accuracy: a run whose training diverged has none and is not
        counted), and for each metric `<metric>_n` (number of finite
        values), `<metric>_mean`, `<metric>_std` (sample standard
        deviation, 0 for one value), `<metric>_min` and `<metric>_max`
        (`None` when no record has the metric).

    Example:

    >>> rows = summarize(read_results("runs/dirichlet"))
    >>> rows[0]["test_accuracy_mean"], rows[0]["n"]
    """
    groups = {}
    for record in records:
        config = {name: record.get(name) for name in RUN_FIELDS}
        config.pop("seed")
        key = json.dumps(config, sort_keys=True)
        group = groups.setdefault(key, {"config": config, "records": []})
        group["records"].append(record)
    rows = []
    for group in groups.values():
        row = dict(group["config"])
        row["runs"] = len(group["records"])
        counted = [
            r for r in group["records"] if _is_finite(r.get("test_accuracy"))
        ]
        row["n"] = len(counted)
        row["seeds"] = sorted(r.get("seed") for r in counted)
        for metric in metrics:
            values = np.array(
                [
                    r[metric]
                    for r in group["records"]
                    if _is_finite(r.get(metric))
                ],
                dtype=float,
            )
            row[f"{metric}_n"] = int(values.size)
            if values.size:
                row[f"{metric}_mean"] = float(values.mean())
                row[f"{metric}_std"] = (
                    float(values.std(ddof=1)) if values.size > 1 else 0.0
                )
                row[f"{metric}_min"] = float(values.min())
                row[f"{metric}_max"] = float(values.max())
            else:
                for stat in ("mean", "std", "min", "max"):
                    row[f"{metric}_{stat}"] = None
        max_entropy = [
            r["max_entropy"]
            for r in group["records"]
            if r.get("max_entropy") is not None
        ]
        row["max_entropy"] = max(max_entropy) if max_entropy else None
        rows.append(row)
    rows.sort(key=_sort_key)
    return rows


def dirichlet_heatmaps(alphas=DEFAULT_ALPHAS, table_size=1000, seed=0):
    """Figure 1: heatmaps of Dirichlet multinomial parameters.

    Draws `p ~ Dirichlet(alpha)` over `table_size` entries, as the
    Dirichlet hash does (`arbnet_keras.hashing.Dirichlet.probabilities`),
    and shows it as a near-square grid (25 x 40 for 1000 entries), one
    panel per `alpha`, each with its colour bar and the entropy of `p`.

    Args:
        alphas: Positive concentrations. Defaults to `DEFAULT_ALPHAS`.
        table_size: Number of table entries. Defaults to `1000`.
        seed: Seed of the draw. Defaults to `0`.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:

    >>> fig = dirichlet_heatmaps([1e-3, 1.0, 100.0])
    >>> fig.savefig("fig1.png")
    """
    from arbnet_keras import hashing

    figure_cls = _figure_class()
    alphas = list(alphas)
    if not alphas:
        raise ValueError(
            f"`alphas` must hold at least one value. Received: alphas={alphas}"
        )
    table_size = int(table_size)
    rows, cols = _grid_shape(table_size)
    ncols = min(len(alphas), 3)
    nrows = math.ceil(len(alphas) / ncols)
    fig = figure_cls(
        figsize=(4.6 * ncols, 3.2 * nrows + 0.6), layout="constrained"
    )
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, alpha in zip(axes, alphas):
        p = hashing.Dirichlet(alpha).probabilities(table_size, seed)
        grid = np.full(rows * cols, np.nan)
        grid[:table_size] = p
        image = ax.imshow(
            grid.reshape(rows, cols), cmap="viridis", interpolation="nearest"
        )
        fig.colorbar(image, ax=ax, shrink=0.85, label="p")
        nonzero = p[p > 0]
        entropy = float(-(nonzero * np.log(nonzero)).sum())
        ax.set_title(f"α = {alpha:g}  (entropy {entropy:.2f} nats)")
        ax.set_xlabel(f"entry mod {cols}")
        ax.set_ylabel(f"entry // {cols}")
    for ax in axes[len(alphas) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"Figure 1: multinomial parameters p ~ Dirichlet(α) over "
        f"{table_size} table entries (max entropy ln {table_size} = "
        f"{math.log(table_size):.2f})"
    )
    return fig


def accuracy_vs_alpha(records, metric="test_accuracy", error="std"):
    """Figure 2: accuracy against the Dirichlet `alpha`, log scale.

    Args:
        records: Records of `read_results`; those of other hashes are
            left out.
        metric: Record field on the y axis. Defaults to `"test_accuracy"`.
        error: `"std"` (mean +- sample standard deviation over seeds) or
            `"minmax"` (error bars from the minimum to the maximum).
            Defaults to `"std"`.

    Returns:
        A `matplotlib.figure.Figure`, one panel per setting that varies.
    """
    rows = _rows(records, "dirichlet", metric)
    fig, panels = _panels(rows)
    for ax, (title, panel_rows) in zip(fig.axes, panels):
        _draw_lines(ax, panel_rows, "hash_value", metric, error)
        ax.set_xscale("log")
        ax.set_xlabel("α (Dirichlet concentration; larger is more balanced)")
        ax.set_ylabel(_label(metric, error))
        ax.set_title(title or "Dirichlet hash")
        ax.legend(title="sparsity")
    fig.suptitle(
        f"Figure 2: effect of α (balance) on {_lower(metric)}{_context(rows)}"
    )
    return fig


def accuracy_vs_entropy(records, metric="test_accuracy", error="std"):
    """Figure 3: accuracy against the table's measured entropy.

    The x axis is the entropy of the trained models' tables
    (`arbnet_keras.models.table_entropy`, mean over seeds, with its
    spread as horizontal error bars); a dashed line marks the maximum,
    `ln(n)` for `n` table entries.

    Args:
        records: Records of `read_results`; those of other hashes are
            left out.
        metric: Record field on the y axis. Defaults to `"test_accuracy"`.
        error: `"std"` or `"minmax"`, see `accuracy_vs_alpha`. Defaults to
            `"std"`.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    rows = [
        row
        for row in _rows(records, "dirichlet", metric)
        if row["entropy_mean"] is not None
    ]
    if not rows:
        raise ValueError(
            "No Dirichlet record with an entropy to plot. Received: "
            f"{len(records)} records"
        )
    fig, panels = _panels(rows)
    for ax, (title, panel_rows) in zip(fig.axes, panels):
        _draw_lines(
            ax, panel_rows, "entropy_mean", metric, error, x_error="entropy"
        )
        max_entropy = max(
            (r["max_entropy"] for r in panel_rows if r["max_entropy"]),
            default=None,
        )
        if max_entropy:
            ax.axvline(
                max_entropy,
                color="0.4",
                linestyle="--",
                label=f"ln n = {max_entropy:.2f} (balanced)",
            )
        ax.set_xlabel("Shannon entropy of the table (nats)")
        ax.set_ylabel(_label(metric, error))
        ax.set_title(title or "Dirichlet hash")
        ax.legend(title="sparsity")
    fig.suptitle(
        f"Figure 3: {_LABELS.get(metric, metric)} against measured "
        f"entropy (balance){_context(rows)}"
    )
    return fig


def accuracy_vs_radius(records, metric="test_accuracy", error="std"):
    """Figure 4: accuracy against the Neighborhood `radius`.

    The x axis is symmetric-logarithmic (linear below 1), so radius 0,
    the modulus hash, has its place next to the large radii.

    Args:
        records: Records of `read_results`; those of other hashes are
            left out.
        metric: Record field on the y axis. Defaults to `"test_accuracy"`.
        error: `"std"` or `"minmax"`, see `accuracy_vs_alpha`. Defaults to
            `"std"`.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    rows = _rows(records, "neighborhood", metric)
    fig, panels = _panels(rows)
    radii = sorted({row["hash_value"] for row in rows})
    for ax, (title, panel_rows) in zip(fig.axes, panels):
        _draw_lines(ax, panel_rows, "hash_value", metric, error)
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xticks(radii)
        ax.set_xticklabels([f"{r:g}" for r in radii])
        ax.set_xlabel("radius (Neighborhood hash noise; 0 = modulus)")
        ax.set_ylabel(_label(metric, error))
        ax.set_title(title or "Neighborhood hash")
        ax.legend(title="sparsity")
    fig.suptitle(
        f"Figure 4: effect of radius (noise) on {_lower(metric)}"
        f"{_context(rows)}"
    )
    return fig


def accuracy_vs_sparsity(records, metric="test_accuracy", error="std"):
    """Accuracy against sparsity, one line per hash function.

    For sweeps of hashes without a parameter (uniform, modulus, identity,
    HashedNets).

    Args:
        records: Records of `read_results`.
        metric: Record field on the y axis. Defaults to `"test_accuracy"`.
        error: `"std"` or `"minmax"`, see `accuracy_vs_alpha`. Defaults to
            `"std"`.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    rows = _rows(records, None, metric)
    fig, panels = _panels(rows, exclude=("hash",))
    for ax, (title, panel_rows) in zip(fig.axes, panels):
        _draw_lines(
            ax, panel_rows, "sparsity", metric, error, line_field="hash"
        )
        ax.set_xlabel("sparsity (fraction of weights fixed at zero)")
        ax.set_ylabel(_label(metric, error))
        ax.set_title(title or "")
        ax.legend(title="hash")
    fig.suptitle(
        f"{_LABELS.get(metric, metric)} against sparsity{_context(rows)}"
    )
    return fig


def results_table(records, spec=None):
    """A Markdown report of a sweep's numbers: mean +- std over seeds.

    Args:
        records: Records of `read_results`.
        spec: The sweep's `SweepSpec`, described in the header, or `None`.
            Defaults to `None`.

    Returns:
        A string: for each setting that varies, a table of test accuracy
        with one row per hash value and one column per sparsity, then one
        table with every configuration's metrics and number of seeds.
        For an expansion sweep, its table of accuracy against width.
    """
    if getattr(spec, "kind", None) == "expansion":
        from arbnet_keras.experiments import expansion

        return "# Expansion sweep results\n\n" + expansion.results_table(
            records, spec
        )
    lines = ["# Sweep results", ""]
    if spec is not None:
        lines += [f"Sweep: {spec.describe()}.", ""]
    rows = summarize(records)
    if not rows:
        return "\n".join(lines + ["No finished runs yet.", ""])
    n_runs = sum(row["runs"] for row in rows)
    failed = n_runs - sum(row["n"] for row in rows)
    lines += [
        f"{n_runs} finished runs in {len(rows)} configurations. Each cell "
        "is the mean ± sample standard deviation over seeds, with the "
        "number of seeds n.",
        "",
    ]
    if failed:
        lines += [
            f"{failed} run{' has' if failed == 1 else 's have'} no test "
            "accuracy (training diverged) and "
            f"{'is' if failed == 1 else 'are'} left out: counted in no n.",
            "",
        ]
    param = _param_name(rows)
    variants = _variant_fields(rows)
    lines += ["## Test accuracy", ""]
    for title, panel_rows in _group_by(rows, variants):
        if title:
            lines += [f"### {title}", ""]
        sparsities = sorted({row["sparsity"] for row in panel_rows})
        values = _unique_sorted(panel_rows, "hash_value")
        first = param or "hash"
        lines.append(
            "| "
            + " | ".join([first] + [f"sparsity {s:g}" for s in sparsities])
            + " |"
        )
        lines.append("|" + "---:|" * (len(sparsities) + 1))
        for hash_name in sorted({row["hash"] for row in panel_rows}):
            for value in values:
                cells = []
                for sparsity in sparsities:
                    match = [
                        r
                        for r in panel_rows
                        if r["hash_value"] == value
                        and r["sparsity"] == sparsity
                        and r["hash"] == hash_name
                    ]
                    cells.append(
                        _cell(match[0], "test_accuracy") if match else ""
                    )
                head = hash_name if value is None else f"{value:g}"
                lines.append("| " + " | ".join([head] + cells) + " |")
        lines.append("")
    lines += ["## All configurations", ""]
    columns = ["hash"]
    if param:
        columns.append(param)
    columns += ["sparsity"] + variants
    metric_columns = [
        ("test_accuracy", "test accuracy"),
        ("train_accuracy", "train accuracy"),
        ("test_loss", "test loss"),
        ("entropy", "entropy (nats)"),
    ]
    lines.append(
        "| "
        + " | ".join(columns + ["n"] + [label for _, label in metric_columns])
        + " |"
    )
    lines.append("|" + "---|" * len(columns) + "---:|" * (1 + 4))
    for row in rows:
        cells = [row["hash"]]
        if param:
            cells.append(_fmt_value(row["hash_value"]))
        cells.append(f"{row['sparsity']:g}")
        cells += [_fmt_value(row[field]) for field in variants]
        cells.append(str(row["n"]))
        cells += [_cell(row, metric, n=False) for metric, _ in metric_columns]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def plot_results(out_dir, formats=("png",), error="std"):
    """Draws a sweep's figures and writes its Markdown table.

    Reads `<out_dir>/results.jsonl` (and `sweep.json`, when present, for
    the sweep's hash and the alphas of Figure 1) and writes into
    `out_dir`:

    - Dirichlet sweeps: `fig1_dirichlet_heatmaps`,
      `fig2_accuracy_vs_alpha` and `fig3_accuracy_vs_entropy`;
    - Neighborhood sweeps: `fig4_accuracy_vs_radius`;
    - other hashes: `accuracy_vs_sparsity`;
    - always: `results.md` (see `results_table`).

    Args:
        out_dir: A sweep's directory.
        formats: File formats of the figures, among `"png"`, `"svg"` and
            `"pdf"`. Defaults to `("png",)`.
        error: Error bars, `"std"` or `"minmax"`. Defaults to `"std"`.

    Returns:
        The list of written paths (`pathlib.Path`).

    Raises:
        ValueError: If `out_dir` holds neither results nor a sweep spec,
            if it cannot be written, if one of its files is damaged (see
            `read_sweep`), or on an invalid format.

    Example:

    >>> plot_results("runs/dirichlet", formats=("png", "pdf"))
    """
    formats = _check_formats(formats)
    if error not in ERRORS:
        raise ValueError(
            f"Invalid value for argument `error`. Expected one of {ERRORS}. "
            f"Received: error={error!r}"
        )
    out_dir = pathlib.Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(
            "`out_dir` must be a sweep directory (its figures are written "
            f"into it). Received: out_dir={str(out_dir)!r}, which is a file"
        )
    spec, records = read_sweep(out_dir)
    check_out_dir(out_dir)
    if getattr(spec, "kind", None) in ("expansion", "convolution"):
        return _plot_spec_kind(out_dir, spec, records, formats)
    hashes = {record.get("hash") for record in records}
    if spec is not None:
        hashes.add(spec.hash)
    figures = {}
    if "dirichlet" in hashes:
        alphas = (
            spec.alpha
            if spec is not None and spec.hash == "dirichlet"
            else _unique_sorted(
                [r for r in records if r.get("hash") == "dirichlet"],
                "hash_value",
            )
        )
        table_size = (
            spec.table_size if spec is not None and spec.table_size else 1000
        )
        figures["fig1_dirichlet_heatmaps"] = dirichlet_heatmaps(
            sorted(alphas)[:9] or DEFAULT_ALPHAS, table_size=table_size
        )
    if any(r.get("hash") == "dirichlet" for r in records):
        figures["fig2_accuracy_vs_alpha"] = accuracy_vs_alpha(
            records, error=error
        )
        if any(
            r.get("hash") == "dirichlet" and r.get("entropy") is not None
            for r in records
        ):
            figures["fig3_accuracy_vs_entropy"] = accuracy_vs_entropy(
                records, error=error
            )
    if any(r.get("hash") == "neighborhood" for r in records):
        figures["fig4_accuracy_vs_radius"] = accuracy_vs_radius(
            records, error=error
        )
    if any(r.get("hash_param") is None for r in records):
        figures["accuracy_vs_sparsity"] = accuracy_vs_sparsity(
            [r for r in records if r.get("hash_param") is None], error=error
        )
    paths = []
    for name, fig in figures.items():
        for fmt in formats:
            path = out_dir / f"{name}.{fmt}"
            fig.savefig(path, dpi=120 if fmt == "png" else None)
            paths.append(path)
    table = out_dir / TABLE_FILE
    table.write_text(results_table(records, spec), encoding="utf-8")
    paths.append(table)
    return paths


def read_sweep(out_dir):
    """Reads a sweep's spec and its validated records.

    Args:
        out_dir: A sweep's directory, or its `results.jsonl` file.

    Returns:
        A tuple `(spec, records)`: the `SweepSpec` (or `ExpansionSpec`)
        of `sweep.json`, or `None` when there is none or this version
        cannot rebuild it, and the records of
        `read_results(out_dir, validate=True)`.

    Raises:
        ValueError: If `out_dir` holds neither results nor a sweep spec,
            if `sweep.json` is not a JSON object, or if a line of the
            results file is not a run's record. The message names the file.
    """
    out_dir = pathlib.Path(out_dir)
    spec_dict = read_spec(out_dir) if out_dir.is_dir() else None
    if spec_dict is None and not results_path(out_dir).exists():
        raise ValueError(
            f"`out_dir` holds no sweep (no {results_path(out_dir).name} "
            f"and no sweep.json). Received: out_dir={str(out_dir)!r}"
        )
    spec = None
    if spec_dict is not None:
        try:
            spec = spec_from_dict(spec_dict)
        except (TypeError, ValueError):
            spec = None
    return spec, read_results(out_dir, validate=True)


def _plot_spec_kind(out_dir, spec, records, formats):
    """The figure and table of an expansion or convolution sweep."""
    from arbnet_keras.experiments import convolution
    from arbnet_keras.experiments import expansion

    module, name = {
        "expansion": (expansion, "expansion_accuracy_vs_width"),
        "convolution": (convolution, "convolution_accuracy"),
    }[spec.kind]
    paths = []
    if records:
        fig = module.accuracy_figure(records, spec)
        for fmt in formats:
            path = out_dir / f"{name}.{fmt}"
            fig.savefig(path, dpi=120 if fmt == "png" else None)
            paths.append(path)
    table = out_dir / TABLE_FILE
    table.write_text(module.results_table(records, spec), encoding="utf-8")
    paths.append(table)
    return paths


def _is_finite(value):
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _grid_shape(n):
    """A near-square `(rows, cols)` grid for `n` entries: 25 x 40 for 1000."""
    rows = max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)
    if rows * 4 < math.isqrt(n):
        # Few divisors (a prime size): pad the last row instead.
        rows = math.isqrt(n)
        return rows, math.ceil(n / rows)
    return rows, n // rows


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - optional extra.
        raise ImportError(
            'Plotting needs matplotlib: pip install "arbnet-keras[plots]"'
        ) from error
    return Figure


def _check_formats(formats):
    if isinstance(formats, str):
        formats = (formats,)
    formats = tuple(formats)
    bad = [fmt for fmt in formats if fmt not in FORMATS]
    if bad or not formats:
        raise ValueError(
            f"Invalid value for argument `formats`. Expected some of "
            f"{FORMATS}. Received: formats={formats!r}"
        )
    return formats


def _rows(records, hash_name, metric):
    records = [
        r for r in records if hash_name is None or r.get("hash") == hash_name
    ]
    rows = [
        r for r in summarize(records) if r.get(f"{metric}_mean") is not None
    ]
    if not rows:
        what = f"{hash_name} " if hash_name else ""
        raise ValueError(
            f"No {what}records with `{metric}` to plot. Received: "
            f"{len(records)} matching records"
        )
    return rows


def _variant_fields(rows, exclude=()):
    """Settings other than the plotted axes that vary among the rows."""
    fields = []
    for name in RUN_FIELDS:
        if name in _AXIS_FIELDS or name in exclude or name == "hash_param":
            continue
        values = {json.dumps(row.get(name)) for row in rows}
        if len(values) > 1:
            fields.append(name)
    return fields


def _group_by(rows, fields):
    groups = {}
    for row in rows:
        title = ", ".join(f"{f}={_fmt_value(row.get(f))}" for f in fields)
        groups.setdefault(title, []).append(row)
    return list(groups.items())


def _panels(rows, exclude=()):
    figure_cls = _figure_class()
    panels = _group_by(rows, _variant_fields(rows, exclude))
    ncols = 2 if len(panels) == 4 else min(len(panels), 3)
    nrows = math.ceil(len(panels) / ncols)
    fig = figure_cls(
        figsize=(5.6 * ncols, 4.2 * nrows + 0.5), layout="constrained"
    )
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True).ravel()
    for ax in axes[len(panels) :]:
        fig.delaxes(ax)
    return fig, panels


def _draw_lines(
    ax, rows, x_field, metric, error, line_field="sparsity", x_error=None
):
    lines = sorted({row[line_field] for row in rows}, key=_none_first)
    colors = _colors(len(lines))
    for color, line in zip(colors, lines):
        points = sorted(
            (row for row in rows if row[line_field] == line),
            key=lambda row: _none_first(row[x_field]),
        )
        x = np.array([row[x_field] for row in points], dtype=float)
        y = np.array([row[f"{metric}_mean"] for row in points], dtype=float)
        yerr = _errors(points, metric, error)
        xerr = _errors(points, x_error, error) if x_error else None
        label = f"{line:g}" if isinstance(line, float) else str(line)
        ax.errorbar(
            x,
            y,
            yerr=yerr,
            xerr=xerr,
            marker="o",
            markersize=4,
            capsize=3,
            color=color,
            label=label,
        )
    ax.grid(True, which="major", alpha=0.3)


def _errors(rows, metric, error):
    if error == "minmax":
        mean = np.array([r[f"{metric}_mean"] for r in rows], dtype=float)
        low = np.array([r[f"{metric}_min"] for r in rows], dtype=float)
        high = np.array([r[f"{metric}_max"] for r in rows], dtype=float)
        return np.vstack([mean - low, high - mean])
    return np.array([r[f"{metric}_std"] or 0.0 for r in rows], dtype=float)


def _colors(n):
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "viridis"]
    if n <= 10:
        return [cmap(i) for i in range(n)]
    return [cmap(i / max(n - 1, 1)) for i in range(n)]


def _lower(metric):
    label = _LABELS.get(metric, metric)
    return label[0].lower() + label[1:]


def _label(metric, error):
    spread = "std" if error == "std" else "min-max"
    return f"{_LABELS.get(metric, metric)} (mean ± {spread} over seeds)"


def _context(rows):
    parts = []
    for field in ("dataset", "model"):
        values = sorted({str(row.get(field)) for row in rows})
        if len(values) == 1:
            parts.append(values[0])
    seeds = sorted({row["n"] for row in rows})
    parts.append(
        f"{seeds[0]} seed{'s' if seeds[0] > 1 else ''}"
        if len(seeds) == 1
        else f"{seeds[0]}-{seeds[-1]} seeds"
    )
    epochs = sorted({row.get("epochs") for row in rows} - {None})
    if len(epochs) == 1:
        parts.append(f"{epochs[0]} epochs")
    return "\n" + ", ".join(parts)


def _param_name(rows):
    params = {row.get("hash_param") for row in rows} - {None}
    return params.pop() if len(params) == 1 else None


def _unique_sorted(rows, field):
    return sorted({row.get(field) for row in rows}, key=_none_first)


def _none_first(value):
    return (value is not None, value if value is not None else 0)


def _sort_key(row):
    others = [
        json.dumps(row.get(name))
        for name in RUN_FIELDS
        if name not in ("hash", "hash_value", "sparsity", "seed")
    ]
    return (
        row.get("hash") or "",
        others,
        row.get("sparsity") or 0.0,
        _none_first(row.get("hash_value")),
    )


def _cell(row, metric, n=True):
    mean, std = row.get(f"{metric}_mean"), row.get(f"{metric}_std")
    if mean is None:
        return "n/a"
    count = row.get(f"{metric}_n", row["n"])
    if count == 1:
        return f"{mean:.4f} (n=1)" if n else f"{mean:.4f}"
    text = f"{mean:.4f} ± {std:.4f}"
    return f"{text} (n={count})" if n else text


def _fmt_value(value):
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "-".join(str(v) for v in value)
    return str(value)
