"""Plots for reports (matplotlib, headless): certified reward against the attack budget."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "plot_certificate_curve",
    "plot_certified_fraction",
    "plot_comparison",
    "plot_cost_histogram",
    "plot_stress_sweeps",
    "plot_learning_curve",
    "plot_constrained_training",
    "plot_instability",
    "plot_lipschitz_tradeoff",
    "plot_surprise_training",
    "plot_surprise_episodes",
    "plot_hijack_stress",
]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # headless: reports are files
    import matplotlib.pyplot as plt

    return plt


def _save_figure(fig, path: str | Path) -> Path:
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    _pyplot().close(fig)
    return path


def plot_certificate_curve(
    budgets: Sequence[float],
    certified: Sequence[float],
    path: str | Path,
    *,
    clean_mean: float | None = None,
    attacked: Mapping[float, tuple[float, float]] | None = None,
    undefended: Mapping[float, tuple[float, float]] | None = None,
    title: str = "",
    ylabel: str = "expected return",
    confidence: float | None = None,
) -> Path:
    """Certified lower bound vs total ℓ2 budget, with attacked means (± 1.96 SE) overlaid.

    ``attacked`` / ``undefended`` map a budget to (mean, standard error) of attacked episodes of the
    smoothed and of an undefended agent.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    label = "certified lower bound" + (f" (statistical, {confidence:.0%})" if confidence else "")
    ax.plot(budgets, certified, "o-", color="tab:blue", label=label)
    if clean_mean is not None:
        ax.axhline(clean_mean, color="tab:gray", ls=":", label="clean smoothed mean (empirical)")
    for data, color, name in (
        (attacked, "tab:red", "smoothed agent under attack"),
        (undefended, "tab:orange", "undefended agent under attack"),
    ):
        if data:
            xs = np.array(sorted(data))
            means = np.array([data[x][0] for x in xs])
            errors = 1.96 * np.array([data[x][1] for x in xs])
            ax.errorbar(xs, means, yerr=errors, fmt="s--", color=color, capsize=3, label=f"{name} (empirical)")
    ax.set_xlabel("total $\\ell_2$ budget B")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save_figure(fig, path)


# Keyed by envs.stress.VERDICTS (reports sits below envs and does not import it; tests check the keys match).
_VERDICT_COLORS = {
    "pass": "tab:green",
    "fail": "tab:red",
    "inconclusive": "tab:orange",
    "too few episodes": "tab:purple",
}


def plot_certified_fraction(
    radii: Sequence[float], path: str | Path, *, title: str = "", evidence: str = "sound", norm: str = "2"
) -> Path:
    """The fraction of states whose action is certified at each perturbation size: the survival curve of the
    per-state certified radii (a state counts at ε when its radius is at least ε)."""
    radii = np.sort(np.asarray(radii, dtype=float))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    top = float(radii.max()) * 1.1 if radii.size and radii.max() > 0 else 1.0
    eps = np.linspace(0.0, top, 400)
    fraction = 1.0 - np.searchsorted(radii, eps, side="left") / max(len(radii), 1)
    ax.plot(eps, fraction, color="tab:blue", label=f"certified fraction ({evidence})")
    ax.set_xlim(0, top)
    ax.set_ylim(0, 1.02)
    norm_tex = "\\infty" if str(norm) == "inf" else str(norm)
    ax.set_xlabel(f"perturbation size ε ($\\ell_{{{norm_tex}}}$)")
    ax.set_ylabel(f"fraction of {len(radii)} states certified")
    ax.set_title("\n".join(textwrap.wrap(title, 70)), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save_figure(fig, path)


def plot_comparison(
    series: Mapping[str, Sequence[tuple[float, float]]], path: str | Path, *, title: str, xlabel: str, ylabel: str
) -> Path:
    """Several policies' figures side by side: one line per policy over a shared x (a budget, a radius), or
    one bar per policy where each has a single figure. The axes are shared, so the policies compare."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    if all(len(points) == 1 for points in series.values()):
        names = list(series)
        ax.bar(range(len(names)), [series[n][0][1] for n in names], color="tab:blue")
        ax.set_xticks(range(len(names)), [textwrap.shorten(n, 28) for n in names], rotation=15, fontsize=8)
    else:
        for name, points in series.items():
            xs, ys = zip(*sorted(points))
            ax.plot(xs, ys, "o-", label=name)
        ax.set_xlabel(xlabel)
        ax.legend(fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title("\n".join(textwrap.wrap(title, 70)), fontsize=9)
    ax.grid(alpha=0.3)
    return _save_figure(fig, path)


def plot_cost_histogram(
    costs: Sequence[float], limit: float, path: str | Path, *, title: str = "", attacked: Sequence[float] | None = None
) -> Path:
    """Episode costs as a histogram (and, given, the attacked episodes' costs), with the limit an episode must not
    exceed."""
    costs = np.asarray(costs, dtype=float)
    both = costs if attacked is None else np.concatenate([costs, np.asarray(attacked, dtype=float)])
    bins = np.histogram_bin_edges(both, bins=min(50, max(5, len(np.unique(both)))))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    ax.hist(costs, bins=bins, color="tab:blue", alpha=0.7, label="episodes (empirical)")
    if attacked is not None:
        ax.hist(attacked, bins=bins, color="tab:orange", alpha=0.6, label="episodes under the cost attack (empirical)")
    ax.axvline(limit, color="tab:red", ls="--", label=f"cost limit {limit:g}")
    ax.set_xlabel("episode cost")
    ax.set_ylabel(f"episodes (of {len(costs)})")
    ax.set_title("\n".join(textwrap.wrap(title, 70)), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save_figure(fig, path)


def _stress_title(report) -> str:
    return (
        f"{report.policy} on {report.env}: return under probes (empirical, ± 1.96 SE; green pass, red fail, "
        f"orange inconclusive at tolerance {report.tolerance:.0%}, purple too few episodes for a verdict)"
    )


def plot_stress_sweeps(report, path: str | Path) -> Path:
    """One panel per probe family: mean return (± 1.96 SE, empirical) against severity, with the
    unperturbed baseline as a band. ``report`` is an ``rlcert.envs.stress.StressReport``.

    A report whose every family has a single setting (the ``stori-paper`` profiles) has nothing to plot
    against severity; it gets one bar chart instead, baseline first, so the profiles compare at a glance.
    """
    families: dict[str, list] = {}
    for result in report.results:
        families.setdefault(result.setting.family, []).append(result)
    if all(len(results) == 1 for results in families.values()):
        return _plot_stress_profiles(report, path)
    plt = _pyplot()
    columns = min(4, len(families))
    rows = -(-len(families) // columns)
    # One return scale for every panel: the families compare at a glance, and no panel's zoom exaggerates a drop.
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows), dpi=110, squeeze=False, sharey=True)
    band = 1.96 * report.baseline_stderr
    for ax, (family, results) in zip(axes.flat, families.items()):
        results = sorted(results, key=lambda r: r.setting.severity)
        xs = [r.setting.severity for r in results]
        ax.axhspan(report.baseline_mean - band, report.baseline_mean + band, color="tab:gray", alpha=0.25)
        ax.axhline(report.baseline_mean, color="tab:gray", ls=":", label="baseline")
        colors = [_VERDICT_COLORS[r.verdict] for r in results]
        ax.errorbar(xs, [r.mean_return for r in results], yerr=[1.96 * r.stderr_return for r in results],
                    fmt="-", color="tab:blue", capsize=3)  # fmt: skip
        ax.scatter(xs, [r.mean_return for r in results], c=colors, zorder=3)
        ax.set_title(textwrap.fill(family, 42), fontsize=8)  # long drift labels would run into the next panel
        ax.set_xlabel(f"severity: {results[0].setting.severity_name}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("mean return", fontsize=8)
    for ax in list(axes.flat)[len(families) :]:
        ax.set_visible(False)
    fig.suptitle(_stress_title(report), fontsize=8)
    return _save_figure(fig, path)


def _plot_stress_profiles(report, path: str | Path) -> Path:
    """Horizontal bars: the baseline and each single-setting probe, mean return ± 1.96 SE."""
    plt = _pyplot()
    labels = ["baseline (no probe)"] + [textwrap.fill(r.setting.family, 48) for r in report.results]
    means = [report.baseline_mean] + [r.mean_return for r in report.results]
    errors = [1.96 * report.baseline_stderr] + [1.96 * r.stderr_return for r in report.results]
    colors = ["tab:gray"] + [_VERDICT_COLORS[r.verdict] for r in report.results]
    fig, ax = plt.subplots(figsize=(8.0, 0.55 * len(labels) + 1.4), dpi=110)
    ys = np.arange(len(labels))[::-1]  # baseline on top
    # Bars start at the floor (the zero of relative drops), so a bar's length is what the drop is measured on.
    ax.barh(ys, np.array(means) - report.floor, left=report.floor, xerr=errors, color=colors, capsize=3)
    ax.axvline(report.baseline_mean, color="tab:gray", ls=":")
    ax.set_yticks(ys, labels, fontsize=7)
    ax.set_xlabel("mean return", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(alpha=0.3, axis="x")
    fig.suptitle(textwrap.fill(_stress_title(report), 100), fontsize=8)  # centred on the figure, not the bars
    return _save_figure(fig, path)


def plot_learning_curve(
    curve: Sequence[Mapping],
    path: str | Path,
    title: str = "",
    *,
    point_label: str = "training episode (game score)",
    xlabel: str = "agent steps",
    ylabel: str = "return",
    eval_label: str = "selection evaluation (greedy)",
) -> Path:
    """Training episodes' game scores (dots, rolling mean of 20) and selection evaluations against steps.
    ``curve`` rows: {"timesteps", "kind": "train" | "eval", "return"}; the labels name other quantities (a
    decision rule's training cost per gradient step, say)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    train = [(p["timesteps"], p["return"]) for p in curve if p["kind"] == "train"]
    if train:
        steps, returns = np.array(train).T
        ax.plot(steps, returns, ".", color="tab:gray", alpha=0.3, ms=3, label=point_label)
        window = min(20, len(returns))
        smooth = np.convolve(returns, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], smooth, color="tab:blue", label=f"rolling mean of {window}")
    evaluations = [(p["timesteps"], p["return"]) for p in curve if p["kind"] == "eval"]
    if evaluations:
        ax.plot(*np.array(evaluations).T, "o-", color="tab:red", label=eval_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(textwrap.fill(title, 80), fontsize=10)  # a zoo agent's description runs past the axes
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save_figure(fig, path)


def plot_constrained_training(
    curves: Mapping[str, Sequence[Sequence[float]]], limit: float, path: str | Path, title: str = ""
) -> Path:
    """Mean episode return and cost of each training run against steps, the cost limit, and each run's λ.
    ``curves``: run name -> rows (timesteps, mean return, mean cost, λ) of the episodes each rollout finished."""
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 6.0), dpi=110, sharex=True)
    lambdas = bottom.twinx()
    for (name, rows), color in zip(curves.items(), ("tab:blue", "tab:gray", "tab:green", "tab:purple")):
        if not len(rows):
            continue
        steps, returns, costs, multipliers = np.asarray(rows, dtype=float).T
        window = min(10, len(steps))
        kernel = np.ones(window) / window
        top.plot(steps[window - 1 :], np.convolve(returns, kernel, mode="valid"), color=color, label=name)
        bottom.plot(steps[window - 1 :], np.convolve(costs, kernel, mode="valid"), color=color, label=f"{name}: cost")
        if np.any(multipliers):
            lambdas.plot(steps, multipliers, color=color, ls=":", label=f"{name}: λ")
    bottom.axhline(limit, color="tab:red", ls="--", label=f"cost limit {limit:g}")
    top.set_ylabel("mean episode return (rolling mean of 10)")
    bottom.set_ylabel("mean episode cost")
    lambdas.set_ylabel("λ (dotted)")
    bottom.set_xlabel("agent steps")
    top.set_title("\n".join(textwrap.wrap(title, 70)), fontsize=9)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    top.legend(fontsize=8)
    handles = [h for ax in (bottom, lambdas) for h in ax.get_legend_handles_labels()[0]]
    bottom.legend(handles, [h.get_label() for h in handles], fontsize=7)
    return _save_figure(fig, path)


def plot_instability(analysis, path: str | Path) -> Path:
    """The instability diagnostic on one page: G_S as a heat-map per frame channel (image observations: with
    the log magnitude of its 2-D spectrum beneath), Λ per shifted set, and the angle between consecutive windows'
    G along each baseline episode (all empirical)."""
    plt = _pyplot()
    shape = tuple(analysis.shape)
    g = analysis.principal.principal
    image = len(shape) == 3 and shape[-1] > 8  # (C, H, W) frames; (stack, features) vectors are one heat-map
    channels = shape[0] if image else 1
    rows = 4 if image else 3
    fig = plt.figure(figsize=(max(6.4, 2.2 * channels), 2.6 * rows), dpi=110)
    grid = fig.add_gridspec(rows, channels)
    limit = float(np.abs(g).max()) or 1.0
    if image:
        spectrum = analysis.spectrum()
        for c in range(channels):
            ax = fig.add_subplot(grid[0, c])
            ax.imshow(g.reshape(shape)[c], cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(f"G_S, frame {c + 1} of {channels}", fontsize=8)
            ax.axis("off")
            ax = fig.add_subplot(grid[1, c])
            ax.imshow(np.log1p(spectrum[c]), cmap="magma")
            ax.set_title("log |FFT2(G_S)|", fontsize=8)
            ax.axis("off")
    else:
        ax = fig.add_subplot(grid[0, :])
        matrix = g.reshape(shape if len(shape) == 2 else (1, -1))
        shown = ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_xlabel("observation feature")
        ax.set_ylabel("stacked step" if len(shape) == 2 else "")
        ax.set_title(f"G_S ({analysis.principal.explained[0]:.0%} of the unstable energy)", fontsize=9)
        fig.colorbar(shown, ax=ax, fraction=0.03)
    ax = fig.add_subplot(grid[rows - 2, :])
    names = [s.name for s in analysis.shifted]
    ax.barh(range(len(names)), [s.quotient for s in analysis.shifted], color="tab:blue")
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("Feature Correlation Quotient Λ against the baseline (1: same unstable direction)")
    ax.grid(alpha=0.3, axis="x")
    ax = fig.add_subplot(grid[rows - 1, :])
    for i, angles in enumerate(analysis.oscillation):
        ax.plot(np.arange(1, len(angles) + 1), angles, ".-", alpha=0.7, label=f"episode {i + 1}" if i < 5 else None)
    ax.set_ylim(0, 90)
    ax.set_xlabel(f"window ({analysis.config.window} states each)")
    ax.set_ylabel("angle to previous G (°)")
    ax.grid(alpha=0.3)
    if analysis.oscillation:
        ax.legend(fontsize=7)
    fig.suptitle("\n".join(textwrap.wrap(f"instability (empirical): {analysis.label()}", 90)), fontsize=9)
    fig.tight_layout()
    return _save_figure(fig, path)


def plot_lipschitz_tradeoff(tradeoff, path: str | Path) -> Path:
    """The α sweep of Lipschitz-constrained imitation (``rlcert.analyses.lipschitz_tradeoff``) on one page: per
    attack norm, the mean return against α (log scale) with clean observations, under the critic attack (solid)
    and under noise of the same size (dashed) for each ε, the expert's levels at the right edge; then the
    guarantee terms against α."""
    plt = _pyplot()
    config = tradeoff.config
    norms, radii, kinds = config.norm_values(), config.eps_values(), config.attack_kinds()
    fig, axes = plt.subplots(1, len(norms) + 1, figsize=(5.2 * (len(norms) + 1), 4.6), dpi=110)
    points = tradeoff.summaries()  # one per alpha, over its replicates
    alphas = np.array([p.alpha for p in points])
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, len(radii)))
    for ax, norm in zip(axes, norms):
        clean = [p.clean() for p in points]
        ax.errorbar(alphas, [r.mean for r in clean], [r.half_width() for r in clean], color="black", marker="o",
                    ms=4, capsize=2, label="clean")  # fmt: skip
        ax.axhline(tradeoff.expert.clean().mean, color="black", ls=":", lw=1, label="expert, clean")
        for eps, color in zip(radii, colors):
            for kind, style in (("critic", "-"), ("noise", "--")):
                if kind not in kinds:
                    continue
                rows = [p.under(kind, norm, eps) for p in points]
                ax.errorbar(alphas, [r.mean for r in rows], [r.half_width() for r in rows], color=color, ls=style,
                            marker="o" if kind == "critic" else "x", ms=4, capsize=2,
                            label=f"ε={eps:g} {'attack' if kind == 'critic' else 'noise'}")  # fmt: skip
            if "critic" in kinds:
                ax.plot(alphas[-1] * 1.6, tradeoff.expert.under("critic", norm, eps).mean, marker="*", color=color,
                        ms=9, ls="none")  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_xlabel(f"Lipschitz bound α trained under ({'ℓ2' if config.norm == '2' else 'ℓ∞'}; certified ≤ α)")
        ax.set_ylabel("mean return (95 % Student-t interval)")
        ax.set_title(f"{'ℓ2' if norm == '2' else 'ℓ∞'} attacks per step (★ expert under the attack)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, ncol=2)
    terms = axes[-1]
    terms.plot(alphas, [p.certified_constant for p in points], color="tab:gray", marker="s", ms=3,
               label="certified constant (sound)")  # fmt: skip
    terms.plot(
        alphas,
        [p.training_error for p in points],
        color="tab:blue",
        marker="o",
        ms=3,
        label="training error" + (" (action disagreement)" if tradeoff.discrete else " (max ‖π(x_i) − u_i‖)"),
    )
    if tradeoff.expert_lipschitz is not None:
        label = f"e_train + (α + L*) r_N  (r_N {tradeoff.covering_radius:.3g}, L* {tradeoff.expert_lipschitz:.3g})"
        terms.plot(alphas, [p.learning_error_bound for p in points], color="tab:red", marker="o", ms=3,
                   label=label)  # fmt: skip
        for eps, color in zip(radii, colors):
            terms.plot(alphas, [tradeoff.attacked_error_bound(p, config.norm, eps) for p in points],
                       color=color, ls="-.", label=f"… + α·ε under ε={eps:g}")  # fmt: skip
    terms.set_xscale("log", base=2)
    terms.set_yscale("log")
    terms.set_xlabel("Lipschitz bound α")
    terms.set_title("guarantee terms" + ("" if tradeoff.discrete else " (implied bounds empirical through r_N)"),
                    fontsize=9)  # fmt: skip
    terms.grid(alpha=0.3)
    terms.legend(fontsize=6)
    title = (f"Lipschitz-constrained imitation of {tradeoff.subject.reference} on {tradeoff.subject.env}: "
             f"{tradeoff.pairs} pairs, {config.method}, {config.episodes} episodes per point"
             + (f" and policy ({config.replicates} policies per α, policies as clusters)" if config.replicates > 1
                else "") + ", "
             f"critic attack {config.attack_steps} PGD steps")  # fmt: skip
    fig.suptitle("\n".join(textwrap.wrap(title, 120)), fontsize=10)
    return _save_figure(fig, path)


SURPRISE_METHOD_COLORS = {"adversarial-surprise": "tab:red", "smirl": "tab:blue", "rnd": "tab:green",
                          "random": "tab:gray"}  # fmt: skip


def plot_surprise_training(curves: Mapping[str, Sequence[Mapping[str, float]]], path: str | Path) -> Path:
    """Adversarial Surprise and its baselines over training (``rlcert.training.surprise_training``): rooms and
    cells visited per episode against frames for every method, and the Explore and Control returns of the game."""
    plt = _pyplot()
    fig, (rooms, cells, returns) = plt.subplots(1, 3, figsize=(15.0, 4.2), dpi=110)
    colors = SURPRISE_METHOD_COLORS
    longest = max((float(rows[-1]["frames"]) for rows in curves.values() if rows), default=0.0)
    for method, rows in curves.items():
        if not rows:
            continue
        frames = np.array([r["frames"] for r in rows], dtype=float)
        window = max(1, min(10, len(rows) // 5))
        kernel = np.ones(window) / window
        for ax, key in ((rooms, "rooms_visited"), (cells, "cells_visited")):
            values = np.convolve([r[key] for r in rows], kernel, mode="valid")
            ax.plot(frames[window - 1 :], values, color=colors.get(method), label=method)
            if method == "random" and frames[-1] < longest:
                # Random actions do not learn: a run stopped early stands for the whole budget at its mean.
                mean = float(np.mean([r[key] for r in rows]))
                ax.plot([frames[-1], longest], [mean, mean], color=colors["random"], ls=":", label="random (its mean)")
        if method == "adversarial-surprise":
            for key, style in (("control_return", "-"), ("explore_return", "--")):
                values = np.convolve([r[key] for r in rows], kernel, mode="valid")
                returns.plot(frames[window - 1 :], values, color="tab:red", ls=style, label=key.split("_")[0])
    rooms.set_ylabel("rooms visited per episode (of 4)")
    cells.set_ylabel("cells visited per episode")
    returns.set_ylabel("return per episode (log-likelihood, nats)")
    returns.set_title("Adversarial Surprise: Explore = −Control", fontsize=9)
    for ax in (rooms, cells, returns):
        ax.set_xlabel("env frames")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    rooms.set_title("coverage over training (rolling mean)", fontsize=9)
    return _save_figure(fig, path)


def plot_surprise_episodes(plays: Mapping[str, object], path: str | Path) -> Path:
    """Episodes of trained runs (``rlcert.analyses.surprise_exploration``): the observation entropy over an
    episode (mean over episodes; Explore's rounds shaded), and each method's visitation heat-map of one layout."""
    plt = _pyplot()
    fig = plt.figure(figsize=(4.0 * max(len(plays), 2), 7.6), dpi=110)
    grid = fig.add_gridspec(2, max(len(plays), 2))
    sawtooth = fig.add_subplot(grid[0, :])
    colors = SURPRISE_METHOD_COLORS
    for method, play in plays.items():
        sawtooth.plot(np.arange(1, play.entropy.shape[1] + 1), play.mean_entropy_by_step(), color=colors.get(method),
                      label=f"{method} ({play.entropy.shape[0]} episodes)")  # fmt: skip
        if method == "adversarial-surprise":
            for start in range(0, play.entropy.shape[1], play.round_length):
                if play.explore_turn[0, start]:
                    sawtooth.axvspan(start + 0.5, start + play.round_length + 0.5, color="tab:red", alpha=0.08)
    window = next(iter(plays.values())).window if plays else 8
    sawtooth.set_xlabel("step of the episode (shaded: Explore's rounds)")
    sawtooth.set_ylabel(f"observation entropy over the last {window} steps (nats)")
    sawtooth.grid(alpha=0.3)
    sawtooth.legend(fontsize=8)
    for index, (method, play) in enumerate(plays.items()):
        ax = fig.add_subplot(grid[1, index])
        heat = np.where(play.walls, np.nan, np.log1p(play.visits))
        ax.imshow(heat, cmap="magma")
        ax.imshow(np.where(play.walls, 1.0, np.nan), cmap="gray_r", vmin=0, vmax=2)
        ax.set_title(f"{method}: visits (log), one layout", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    return _save_figure(fig, path)


def plot_hijack_stress(result, path: str | Path) -> Path:
    """The hijack stress test (``rlcert.analyses.hijack``): each metric's per-episode values for the clean, random
    and learned conditions (box plots), and the learned hijacker's training curve."""
    plt = _pyplot()
    metrics = (("return", "episode return"), ("surprise", "mean surprise after the hijack (nats)"),
               ("recovery_steps", "steps until familiar again"))  # fmt: skip
    fig, axes = plt.subplots(1, len(metrics) + 1, figsize=(4.2 * (len(metrics) + 1), 4.0), dpi=110)
    for ax, (metric, label) in zip(axes, metrics):
        data = [o.metric(metric)[o.hijacked] if o.condition != "clean" else o.metric(metric) for o in result.outcomes]
        ax.boxplot(data, tick_labels=[o.condition for o in result.outcomes], showmeans=True)
        mean, low, high = result.difference(metric)
        ax.set_title(f"learned − random: {mean:.3g} [{low:.3g}, {high:.3g}]", fontsize=8)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    curve = np.array(result.hijacker.curve, dtype=float).reshape(-1, 2)
    if len(curve):
        axes[-1].plot(curve[:, 0], curve[:, 1], color="tab:red")
    axes[-1].set_xlabel("hijacker steps")
    axes[-1].set_ylabel(f"hijacker reward ({result.config.objective})")
    axes[-1].set_title("learned hijacker training (PPO)", fontsize=8)
    axes[-1].grid(alpha=0.3)
    fig.suptitle("\n".join(textwrap.wrap(f"Hijack stress test: {result.label()} (empirical; 95 % paired t "
                                         "intervals)", 120)), fontsize=9)  # fmt: skip
    return _save_figure(fig, path)
