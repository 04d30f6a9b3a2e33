import numpy as np
import pytest

from rlcert.agents.architecture import PolicyLoadError
from rlcert.agents.recipes import RECIPES
from rlcert.agents.zoo import load_zoo_policy, zoo_entries
from rlcert.attacks.smoothing import GaussianSmoothing
from rlcert.config import dataclass_from_args
from rlcert.envs.conformance import check_policy
from rlcert.envs.factory import make_env
from rlcert.envs.rollout import run

REQUIRED = {"cartpole5-dqn", "cartpole5-dqn-sigma0.2", "cartpole5-dqn-sigma0.4", "cartpole-ppo", "mountaincar-dqn"}
ALL_ENTRIES = {e.name: e for e in zoo_entries()}
# Policies over observations; the TS-DDR decision rules have tests of their own (test_tsddr).
ENTRIES = {name: e for name, e in ALL_ENTRIES.items() if e.kind == "policy"}
# The constrained agents come from `rlcert train ppo-lagrangian` (their own command), the rest from a zoo recipe.
CONSTRAINED = sorted(name for name, entry in ENTRIES.items() if "cost_limit" in entry.meta["training"])
# The Lipschitz-constrained imitators come from `rlcert train lipschitz` and record their certified constant.
IMITATED = sorted(name for name, entry in ENTRIES.items() if "lipschitz" in entry.meta)
ATARI = sorted(name for name, entry in ENTRIES.items() if entry.meta["training"].get("network") == "atari-cnn")
CLASSIC = sorted(set(ENTRIES) - set(ATARI) - set(CONSTRAINED))


def _reproducing_config(command: str):
    """The config the CLI would build from a recorded command line (it must still parse)."""
    from rlcert.cli import build_parser

    words = command.split()
    assert words[0] == "rlcert"
    args = build_parser().parse_args(words[1:])
    return dataclass_from_args(args.command.config, args)


def test_the_zoo_holds_every_required_agent_with_its_metadata():
    assert REQUIRED <= set(ENTRIES)
    assert {"cartpole-drift-ppo-lagrangian", "cartpole-drift-ppo", "hydro-ppo-lagrangian", "hydro-ppo"} <= set(ENTRIES)
    assert "bolivia-tsddr" in ALL_ENTRIES and ALL_ENTRIES["bolivia-tsddr"].kind == "tsddr"
    for name, entry in ENTRIES.items():
        meta = entry.meta
        assert meta["name"] == name
        if name in CONSTRAINED:
            config = _reproducing_config(meta["training"]["command"])
            assert f"{config.task}-{meta['algorithm'].lower()}" == name
            assert config.training_config().env == meta["env"]
            assert (entry.path / "learning_curve.csv").exists()
        elif name in IMITATED:
            config = _reproducing_config(meta["training"]["command"])
            assert config.expert == meta["training"]["expert"] and (config.env or meta["env"]) == meta["env"]
            assert meta["training"]["hyperparameters"]["alpha"] == config.alpha
        else:
            assert meta["training"]["command"] == f"rlcert zoo train {name}"
            assert name in RECIPES and meta["env"] == RECIPES[name].env
            assert "noise_sigma" in meta["training"]
        assert meta["evaluation"]["episodes"] >= (30 if name in ATARI else 1000)
        for key in ("seed", "timesteps", "hyperparameters"):
            assert key in meta["training"]
        assert (entry.path / "weights.pt").stat().st_size < 2_000_000
    for entry in ENTRIES.values():  # an adversarially trained agent records its score under that attack
        if entry.meta["training"].get("adversarial_eps"):
            attacked = entry.evaluation["attacked"]
            assert attacked["episodes"] == entry.evaluation["episodes"] and attacked["attack"].startswith("FramePGD")
    for name in ATARI:
        assert (ENTRIES[name].path / "learning_curve.csv").exists()
        assert (ENTRIES[name].path / "learning_curve.png").exists()


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_zoo_agents_load_conform_and_met_their_minimum(name):
    entry = ENTRIES[name]
    policy = load_zoo_policy(name)
    check_policy(policy, env=entry.env)
    evaluation = entry.evaluation
    if name in CONSTRAINED:  # a Lagrangian agent keeps its cost limit; its plain-PPO baseline does not
        assert (evaluation["mean_cost"] <= evaluation["cost_limit"]) == (entry.meta["algorithm"] == "PPO-Lagrangian")
        return
    if name in IMITATED:  # an imitator plays within 5 % of its expert's recorded score
        expert = ENTRIES[entry.meta["training"]["expert"].removeprefix("zoo:")].evaluation["mean_return"]
        assert evaluation["mean_return"] >= expert - 0.05 * abs(expert)
        return
    score = evaluation["smoothed"]["mean_return"] if "smoothed" in evaluation else evaluation["mean_return"]
    assert score >= entry.meta["min_score"]
    twin = RECIPES[name].twin
    if twin in ENTRIES:  # a noise-trained agent stays within 25 % of its plain twin at sigma = 0
        plain = ENTRIES[twin].evaluation["mean_return"]
        assert evaluation["mean_return"] >= plain - 0.25 * abs(plain)


@pytest.mark.parametrize("name", IMITATED)
def test_an_imitators_recorded_constant_is_certified_from_its_weights_and_within_alpha(name):
    from rlcert.certify.lipschitz import lipschitz_upper_bound

    meta = ENTRIES[name].meta
    recorded = meta["lipschitz"]
    constant = lipschitz_upper_bound(load_zoo_policy(name).module, recorded["norm"])
    assert recorded["evidence"] == "sound" and constant == pytest.approx(recorded["certified_constant"], rel=1e-6)
    assert constant <= meta["training"]["hyperparameters"]["alpha"] * (1 + 1e-6)


@pytest.mark.parametrize("name", CONSTRAINED)
def test_recorded_costs_and_returns_of_the_constrained_agents_reproduce(name):
    """200 fresh episodes (another seed) agree with the recorded 1000-episode mean return and mean cost."""
    entry = ENTRIES[name]
    recorded = entry.evaluation
    fresh = run(load_zoo_policy(name), entry.env, 200, seed=12345, actions=recorded["actions"])
    stderr_cost = fresh.costs.std(ddof=1) / np.sqrt(200)
    for value, stderr, key in ((fresh.mean_return, fresh.stderr_return, "return"),
                               (fresh.costs.mean(), stderr_cost, "cost")):  # fmt: skip
        tolerance = 4 * np.hypot(stderr, recorded[f"stderr_{key}"]) + 1e-9
        assert abs(value - recorded[f"mean_{key}"]) <= max(tolerance, 0.02 * abs(recorded[f"mean_{key}"]))


def test_a_decision_rule_is_not_loaded_as_a_policy():
    with pytest.raises(PolicyLoadError, match="zoo:bolivia-tsddr is a TS-DDR decision rule for the bolivia"):
        load_zoo_policy("bolivia-tsddr")


@pytest.mark.parametrize("name", CLASSIC)
def test_recorded_scores_reproduce(name):
    """200 fresh episodes (another seed) agree with the recorded 1000-episode score."""
    entry = ENTRIES[name]
    policy = load_zoo_policy(name)
    recorded = entry.evaluation
    fresh = run(policy, entry.env, 200, seed=12345)
    tolerance = 4 * np.hypot(fresh.stderr_return, recorded["stderr_return"]) + 1e-9
    assert abs(fresh.mean_return - recorded["mean_return"]) <= max(tolerance, 0.02 * abs(recorded["mean_return"]))
    if "smoothed" in recorded:
        smoothed = run(policy, entry.env, 200, seed=12345, defense=GaussianSmoothing(recorded["smoothed"]["sigma"]))
        tolerance = 4 * np.hypot(smoothed.stderr_return, recorded["smoothed"]["stderr_return"])
        assert abs(smoothed.mean_return - recorded["smoothed"]["mean_return"]) <= max(tolerance, 0.02 * 200)


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name in ATARI if name in ("pong-ppo", "freeway-dqn")])
def test_recorded_atari_scores_reproduce_with_few_episodes(name):
    entry = ENTRIES[name]
    recorded = entry.evaluation
    fresh = run(load_zoo_policy(name), entry.env, 4, seed=777)
    tolerance = 4 * np.hypot(fresh.stderr_return, recorded["stderr_return"]) + 0.5
    assert abs(fresh.mean_return - recorded["mean_return"]) <= tolerance


@pytest.mark.parametrize("name", ATARI)
def test_an_atari_agent_loads_and_plays_a_thousand_steps(name):
    policy = load_zoo_policy(name)
    env = make_env(ENTRIES[name].env)
    obs, _ = env.reset(seed=0)
    for _ in range(1000):
        obs, _, terminated, truncated, _ = env.step(int(policy.act(obs[None])[0]))
        if terminated or truncated:
            obs, _ = env.reset()
    assert obs.shape == (4, 84, 84) and 0.0 <= obs.min() and obs.max() <= 1.0


def test_plain_cartpole5_agent_balances_for_the_full_200_steps():
    eps = run(load_zoo_policy("cartpole5-dqn"), "cartpole5", 500, seed=7)
    assert eps.mean_return >= 190
