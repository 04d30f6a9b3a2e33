import zipfile

import numpy as np
import pytest

from rlcert.agents.architecture import PolicyLoadError
from rlcert.agents.sb3 import load_sb3_zip
from rlcert.envs.conformance import check_policy

sb3 = pytest.importorskip("stable_baselines3")


@pytest.fixture(scope="module")
def sb3_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("sb3")
    import torch

    models = {
        "dqn": sb3.DQN("MlpPolicy", "CartPole-v1", learning_starts=10, policy_kwargs={"net_arch": [32, 32]}, seed=0),
        "ppo": sb3.PPO("MlpPolicy", "CartPole-v1", n_steps=64, policy_kwargs={"net_arch": [16]}, seed=0),
        "ppo-relu": sb3.PPO(
            "MlpPolicy",
            "CartPole-v1",
            n_steps=64,
            seed=0,
            policy_kwargs={"net_arch": [16, 16], "activation_fn": torch.nn.ReLU},
        ),
        "ppo-box": sb3.PPO("MlpPolicy", "Pendulum-v1", n_steps=64, seed=0),
        "sac": sb3.SAC("MlpPolicy", "Pendulum-v1", learning_starts=10, seed=0, policy_kwargs={"net_arch": [16]}),
        "td3": sb3.TD3("MlpPolicy", "Pendulum-v1", learning_starts=10, seed=0, policy_kwargs={"net_arch": [16]}),
    }
    paths = {}
    for name, model in models.items():
        model.learn(64)
        paths[name] = root / f"{name}.zip"
        model.save(paths[name])
    return models, paths


@pytest.mark.parametrize("name", ["dqn", "ppo", "ppo-relu", "ppo-box", "sac", "td3"])
def test_loaded_policy_acts_exactly_like_sb3_predict(sb3_models, name):
    models, paths = sb3_models
    policy = load_sb3_zip(paths[name])
    model = models[name]
    obs = np.stack([model.observation_space.sample() for _ in range(64)]).astype(np.float32)
    expected, _ = model.predict(obs, deterministic=True)
    np.testing.assert_allclose(policy.act(obs), expected, rtol=1e-5, atol=1e-5)
    env = "CartPole-v1" if "Discrete" in str(model.action_space) else "Pendulum-v1"
    check_policy(policy, env=env)


def test_corrupt_and_foreign_zips_give_one_line_errors(tmp_path, sb3_models):
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(sb3_models[1]["dqn"].read_bytes()[:300])
    with pytest.raises(PolicyLoadError, match="not a valid zip") as info:
        load_sb3_zip(corrupt)
    assert "\n" not in str(info.value)
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(PolicyLoadError, match="not a Stable-Baselines3 model"):
        load_sb3_zip(foreign)
    with pytest.raises(PolicyLoadError, match="does not exist"):
        load_sb3_zip(tmp_path / "missing.zip")


def test_unknown_algorithm_is_named(tmp_path, sb3_models):
    import io

    import torch

    source = sb3_models[1]["dqn"]
    target = tmp_path / "odd.zip"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        dst.writestr("data", src.read("data"))
        buffer = io.BytesIO()
        torch.save({"weird.weight": torch.zeros(2, 2)}, buffer)
        dst.writestr("policy.pth", buffer.getvalue())
    with pytest.raises(PolicyLoadError, match="unknown algorithm"):
        load_sb3_zip(target)
