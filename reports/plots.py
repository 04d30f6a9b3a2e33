"""Plots for reports (matplotlib, headless): certified reward against the attack budget."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["plot_certificate_curve"]


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
