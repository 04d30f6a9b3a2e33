import numpy as np
import pytest

from agents.recipes import RECIPES
from agents.zoo import load_zoo_policy, zoo_entries
from attacks.conformance import check_policy
from attacks.smoothing import GaussianSmoothing
from envs.rollout import run

REQUIRED = {"cartpole5-dqn", "cartpole5-dqn-sigma0.2", "cartpole5-dqn-sigma0.4", "cartpole-ppo", "mountaincar-dqn"}


def test_the_zoo_holds_every_required_agent_with_its_metadata():
    entries = {e.name: e for e in zoo_entries()}
    assert REQUIRED <= set(entries)
    for name, entry in entries.items():
        meta = entry.meta
        assert meta["training"]["command"] == f"rlcert zoo train {name}"
        assert name in RECIPES and meta["env"] == RECIPES[name].env
        assert meta["evaluation"]["episodes"] >= 1000
        for key in ("seed", "timesteps", "noise_sigma", "hyperparameters"):
            assert key in meta["training"]
        assert (entry.path / "weights.pt").stat().st_size < 2_000_000


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_zoo_agents_load_conform_and_met_their_minimum(name):
    entry = {e.name: e for e in zoo_entries()}[name]
    policy = load_zoo_policy(name)
    check_policy(policy, env=entry.env)
    evaluation = entry.evaluation
    score = evaluation["smoothed"]["mean_return"] if "smoothed" in evaluation else evaluation["mean_return"]
    assert score >= entry.meta["min_score"]


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_recorded_scores_reproduce(name):
    """200 fresh episodes (another seed) agree with the recorded 1000-episode score."""
    entry = {e.name: e for e in zoo_entries()}[name]
    policy = load_zoo_policy(name)
    recorded = entry.evaluation
    fresh = run(policy, entry.env, 200, seed=12345)
    tolerance = 4 * np.hypot(fresh.stderr_return, recorded["stderr_return"]) + 1e-9
    assert abs(fresh.mean_return - recorded["mean_return"]) <= max(tolerance, 0.02 * abs(recorded["mean_return"]))
    if "smoothed" in recorded:
        smoothed = run(policy, entry.env, 200, seed=12345, defense=GaussianSmoothing(recorded["smoothed"]["sigma"]))
        tolerance = 4 * np.hypot(smoothed.stderr_return, recorded["smoothed"]["stderr_return"])
        assert abs(smoothed.mean_return - recorded["smoothed"]["mean_return"]) <= max(tolerance, 0.02 * 200)


def test_plain_cartpole5_agent_balances_for_the_full_200_steps():
    eps = run(load_zoo_policy("cartpole5-dqn"), "cartpole5", 500, seed=7)
    assert eps.mean_return >= 190
