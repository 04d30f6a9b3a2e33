"""The alpha sweep of Lipschitz-constrained imitation (rlcert.analyses.lipschitz_tradeoff): every point carries a
certified constant within alpha, clean, attacked and noisy returns on shared episodes, and guarantee terms whose
sound parts hold on sampled states."""

import json

import numpy as np
import pytest
import torch

from rlcert.analyses.lipschitz_tradeoff import TradeoffConfig, _covering_radius, lipschitz_tradeoff
from rlcert.envs.options import RolloutOptions
from rlcert.reports.errors import InvalidValueError

torch.set_num_threads(1)
QUIET = RolloutOptions(progress=False)
SMALL = {"pairs": 600, "demo_episodes": 8, "holdout_episodes": 2, "episodes": 3, "critic_episodes": 3, "epochs": 4,
         "hidden": "16,16", "attack_steps": 3}  # fmt: skip


@pytest.fixture(scope="module")
def cartpole():
    config = TradeoffConfig(alphas="1,64", eps="0.2", attack_norms="2,inf", **SMALL)
    return lipschitz_tradeoff("zoo:cartpole-ppo", "CartPole-v1?max_steps=80", config, QUIET)


@pytest.fixture(scope="module")
def pendulum():
    config = TradeoffConfig(alphas="4", eps="0.1", attack_norms="2", **SMALL)
    return lipschitz_tradeoff("zoo:pendulum-ppo", "Pendulum-v1?max_steps=60", config, QUIET)


def test_every_point_is_certified_within_alpha_and_measured_in_every_setting(cartpole, tmp_path):
    assert [p.alpha for p in cartpole.points] == [1.0, 64.0] and cartpole.expert.alpha is None
    for point in cartpole.points:
        assert 0 < point.certified_constant <= point.alpha * (1 + 1e-6)
        assert 0 <= point.training_error <= 1 and point.learning_error_bound is None  # discrete: no implied bound
        settings = {(r.attack, r.norm, r.eps) for r in point.returns}
        assert settings == {("none", None, 0.0)} | {(k, n, 0.2) for k in ("critic", "noise") for n in ("2", "inf")}
        assert all(r.episodes == 3 and 0 < r.mean <= 80 for r in point.returns)
    evidence = {f.name: f.evidence.value for f in cartpole.findings()}
    assert evidence == {"covering_radius": "empirical", "certified_lipschitz_constant": "sound",
                        "training_error": "empirical", "mean_return": "empirical"}  # fmt: skip
    json.dumps(cartpole.to_dict())
    assert cartpole.plot(tmp_path / "sweep.png").stat().st_size > 10_000
    best = cartpole.best_alphas("critic", "2", 0.2)
    means = {p.alpha: p.under("critic", "2", 0.2).mean for p in cartpole.points}
    assert best and all(means[alpha] == max(means.values()) for alpha in best)


def test_the_same_seed_gives_the_same_sweep(cartpole):
    config = TradeoffConfig(alphas="1,64", eps="0.2", attack_norms="2,inf", **SMALL)
    again = lipschitz_tradeoff("zoo:cartpole-ppo", "CartPole-v1?max_steps=80", config, QUIET)
    strip = lambda d: {k: v for k, v in d.items() if k != "seconds"}  # noqa: E731
    first, second = cartpole.to_dict(), again.to_dict()
    for point in (*first["points"], *second["points"]):
        point.pop("train_seconds")
    assert strip(first) == strip(second)


def test_the_guarantee_terms_of_a_continuous_task_hold_where_they_are_sound(pendulum):
    point = pendulum.points[0]
    radius, expert_constant = pendulum.covering_radius, pendulum.expert_lipschitz
    assert radius > 0 and expert_constant > 0
    assert point.learning_error_bound == pytest.approx(
        point.training_error + (point.certified_constant + expert_constant) * radius
    )
    # At the demonstration states the attacked action stays within e_train + constant * eps: sound there.
    from rlcert.analyses.lipschitz_tradeoff import DEMOS_STREAM
    from rlcert.envs.seeding import child_seed
    from rlcert.training.demonstrations import collect_demonstrations

    demos = collect_demonstrations(pendulum.expert.policy, pendulum.subject.env, 8, child_seed(0, DEMOS_STREAM),
                                   max_pairs=600)  # fmt: skip
    rng = np.random.default_rng(0)
    direction = rng.normal(size=demos.states.shape)
    moved = demos.states + 0.1 * direction / np.linalg.norm(direction, axis=1, keepdims=True)
    error = np.linalg.norm(point.policy.act(moved.astype(np.float32)) - demos.actions, axis=1)
    assert error.max() <= point.training_error + point.certified_constant * 0.1 + 1e-5
    # The expert's local constant bounds its finite differences inside the covering balls.
    anchors = torch.as_tensor(demos.states)
    step = torch.as_tensor(rng.normal(size=demos.states.shape), dtype=torch.float32)
    step = step / torch.linalg.vector_norm(step, dim=1, keepdim=True) * radius * 0.5
    with torch.no_grad():
        module = pendulum.expert.policy.module
        ratios = torch.linalg.vector_norm(module(anchors + step) - module(anchors), dim=1) / (radius * 0.5)
    assert float(ratios.max()) <= expert_constant * (1 + 1e-5)
    bounds = pendulum.to_dict()["points"][0]["attacked_error_bounds"]
    assert bounds == [{"norm": "2", "eps": 0.1, "bound": pytest.approx(point.learning_error_bound
                                                                      + point.certified_constant * 0.1)}]  # fmt: skip


def test_the_covering_radius_is_the_farthest_query_from_its_nearest_sample():
    samples, queries = np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[0.5, 0.0], [3.0, 4.0]])
    assert _covering_radius(samples, queries, "2") == pytest.approx(np.hypot(2.0, 4.0))
    assert _covering_radius(samples, queries, "inf") == pytest.approx(4.0)


@pytest.mark.parametrize("changes, message", [
    ({"alphas": "1,x"}, "--alphas must be a comma list"),
    ({"alphas": "0"}, "--alphas values must be finite and > 0"),
    ({"eps": "-0.1"}, "eps must be"),
    ({"attack_norms": "1"}, "--attack-norms must be a comma list of 2 and inf"),
    ({"attacks": "critic,fgsm"}, "--attacks must be a comma list of critic, noise"),
    ({"method": "lipsdp"}, "--method must be one of projection, spectral-norm, orthogonal, graph"),
    ({"method": "spectral-norm", "norm": "inf"}, "bounds the l2 operator norm only"),
    ({"hidden": "16,0"}, "--hidden must be a comma list of positive widths"),
    ({"critic_gamma": 1.0}, "--critic-gamma must be in"),
])  # fmt: skip
def test_bad_settings_are_refused_before_anything_runs(changes, message):
    with pytest.raises(InvalidValueError, match=message):
        TradeoffConfig(**changes)


def test_the_graph_method_is_refused_for_discrete_actions():
    with pytest.raises(InvalidValueError, match="--method graph fits continuous actions"):
        lipschitz_tradeoff("zoo:cartpole-ppo", config=TradeoffConfig(method="graph", **SMALL), rollout=QUIET)


def test_replicates_are_summarized_with_policies_as_clusters(tmp_path):
    config = TradeoffConfig(alphas="64", eps="0.2", attack_norms="2", attacks="noise", replicates=2, **SMALL)
    result = lipschitz_tradeoff("zoo:cartpole-ppo", "CartPole-v1?max_steps=80", config, QUIET)
    first, second = result.points
    assert (first.replicate, second.replicate) == (0, 1) and first.alpha == second.alpha == 64.0
    weights = [p.policy.module.state_dict()["1.weight"] for p in result.points]
    assert not torch.equal(*weights)  # independent initial weights
    (summary,) = result.summaries()
    means = np.array([first.clean().mean, second.clean().mean])
    clean = summary.clean()
    assert clean.mean == pytest.approx(means.mean()) and clean.policies == 2 and clean.episodes == 6
    assert clean.stderr == pytest.approx(means.std(ddof=1) / np.sqrt(2))
    assert clean.half_width() == pytest.approx(12.706 * clean.stderr, rel=1e-3)  # Student t, 1 degree of freedom
    assert summary.certified_constant == max(first.certified_constant, second.certified_constant)
    # replicate 0 is the policy `rlcert train lipschitz` trains with the same seed
    single = lipschitz_tradeoff(
        "zoo:cartpole-ppo",
        "CartPole-v1?max_steps=80",
        TradeoffConfig(alphas="64", eps="0.2", attack_norms="2", attacks="noise", **SMALL),
        QUIET,
    )
    assert torch.equal(single.points[0].policy.module.state_dict()["1.weight"], weights[0])
    assert len(result.to_dict()["summaries"]) == 1
    assert result.plot(tmp_path / "replicates.png").is_file()
    with pytest.raises(InvalidValueError, match="--replicates above 1 needs a neural method"):
        TradeoffConfig(method="graph", replicates=2)
