import json

import pytest

from agents.loading import load_policy
from agents.recipes import ZooRecipe
from agents.training import train_zoo_agent

pytest.importorskip("stable_baselines3")


@pytest.mark.parametrize("algorithm, sigma", [("dqn", 0.1), ("ppo", 0.0)])
def test_a_short_training_run_writes_a_loadable_zoo_entry(tmp_path, algorithm, sigma):
    hyper = {"learning_starts": 50} if algorithm == "dqn" else {"n_steps": 64, "batch_size": 64}
    tiny = ZooRecipe(
        "tiny", "cartpole5?max_steps=30", algorithm, 256, hyper, (8,), noise_sigma=sigma, eval_every=128, min_score=0
    )
    meta = train_zoo_agent(tiny, tmp_path, final_episodes=20, verbose=False)
    assert json.loads((tmp_path / "meta.json").read_text()) == meta
    assert [point["timesteps"] for point in meta["training"]["selection_curve"]] == [128, 256]
    assert meta["evaluation"]["episodes"] == 20 and ("smoothed" in meta["evaluation"]) == (sigma > 0)
    policy = load_policy(tmp_path / "weights.pt", architecture=_arch(tmp_path, meta))
    assert policy.observation_space.shape == (5, 4)


def _arch(tmp_path, meta):
    path = tmp_path / "architecture.json"
    path.write_text(json.dumps(meta["architecture"]))
    return path
