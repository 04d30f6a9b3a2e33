import pytest

import rlcert.reports.plots as plots
from rlcert.envs.generic_probes import RandomActionExecution
from rlcert.envs.probes import ProbeStack
from rlcert.envs.stress import ProbeSetting, SettingResult, StressReport


@pytest.fixture
def captured_figures(monkeypatch):
    """Keeps each figure a plot function would save, so the test can read what was drawn."""
    figures = []

    def keep(fig, path):
        figures.append(fig)
        return path

    monkeypatch.setattr(plots, "_save_figure", keep)
    return figures


def _report(settings: list[tuple[str, float, float, str]]) -> StressReport:
    stack = ProbeStack.of(RandomActionExecution, p=0.1)
    results = tuple(
        SettingResult(ProbeSetting(family, severity, stack), mean, 1.0, 1 - mean / 100, 0.0, 0.5, verdict, 30)
        for family, severity, mean, verdict in settings
    )
    return StressReport("zoo:x", "breakout", 100.0, 2.0, 0.0, 0.2, 0.95, 30, 0, results)


def test_sweeps_get_one_panel_per_family_with_every_severity(captured_figures, tmp_path):
    report = _report([("type 1", 0.05, 95.0, "pass"), ("type 1", 0.3, 40.0, "fail"),
                      ("type 2.2 sudden drift after 300 steps to blackout ball_missing_top_and_bottom", 300, 10.0,
                       "fail")])  # fmt: skip
    plots.plot_stress_sweeps(report, tmp_path / "s.png")
    (fig,) = captured_figures
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 2
    assert [len(ax.collections[-1].get_offsets()) for ax in panels] == [2, 1]  # the verdict-coloured points
    assert all(len(line) <= 42 for line in panels[1].get_title().splitlines())  # long labels wrap
    # One return scale for the whole figure, and every axis says what it shows.
    assert panels[0].get_ylim() == panels[1].get_ylim() and panels[0].get_ylabel() == "mean return"
    assert all(ax.get_xlabel().startswith("severity: ") for ax in panels)


def test_single_setting_profiles_become_one_bar_chart_with_the_baseline_first(captured_figures, tmp_path):
    report = _report([("type 1 random actions (p=0.3)", 0.3, 42.0, "fail"), ("type 3.2C torch (p=1)", 1, 2.0, "fail"),
                      ("type 2.1 hit_cancelled (p=0.25)", 0.25, 90.0, "inconclusive")])  # fmt: skip
    plots.plot_stress_sweeps(report, tmp_path / "p.png")
    (fig,) = captured_figures
    (ax,) = fig.axes
    bars = sorted(ax.patches, key=lambda bar: -bar.get_y())  # top to bottom
    assert [round(bar.get_width(), 6) for bar in bars] == [100.0, 42.0, 2.0, 90.0]
    label_at = dict(zip(ax.get_yticks(), (label.get_text() for label in ax.get_yticklabels())))
    assert label_at[max(label_at)].startswith("baseline")
    assert [bar.get_facecolor() for bar in bars[1:3]] == [bars[1].get_facecolor()] * 2  # both failed: one colour
    assert bars[3].get_facecolor() != bars[1].get_facecolor() != bars[0].get_facecolor()


def test_a_stress_plot_file_is_written(tmp_path):
    report = _report([("type 1", 0.3, 40.0, "fail")])
    path = plots.plot_stress_sweeps(report, tmp_path / "deep" / "r.png")
    assert path.exists() and path.stat().st_size > 1000


def test_every_stress_verdict_has_a_colour():
    from rlcert.envs.stress import VERDICTS
    from rlcert.reports.plots import _VERDICT_COLORS

    assert set(_VERDICT_COLORS) == set(VERDICTS)


def test_a_random_run_stopped_early_stands_for_the_whole_budget_at_its_mean(captured_figures, tmp_path):
    def rows(frames, rooms):
        return [{"frames": f, "rooms_visited": r, "cells_visited": 2 * r, "control_return": -r,
                 "explore_return": r} for f, r in zip(frames, rooms)]  # fmt: skip

    curves = {"adversarial-surprise": rows(range(100, 1100, 100), [1.0] * 10),
              "random": rows([100, 200, 300], [1.0, 1.2, 1.4])}  # fmt: skip
    plots.plot_surprise_training(curves, tmp_path / "t.png")
    (fig,) = captured_figures
    rooms = fig.axes[0]
    (extended,) = [line for line in rooms.get_lines() if line.get_label() == "random (its mean)"]
    assert list(extended.get_xdata()) == [300, 1000] and list(extended.get_ydata()) == pytest.approx([1.2, 1.2])
