"""Stable-Baselines3 pieces of zoo training: training envs, the Atari network, and the trained policy
as a plain ``nn.Sequential`` (what the zoo stores and bound propagation reads).

Atari training uses the factory's standard preprocessing plus the training-only conventions of Mnih
et al. (Nature 2015, Methods "Training details"): rewards clipped to their sign and a life loss ending
the training episode. Evaluation never sees either: zoo scores are raw game scores on the unmodified
preprocessed env. The network is the DQN network of Mnih et al. (NIPS Deep Learning Workshop 2013,
§5: 16 8×8 filters stride 4, 32 4×4 filters stride 2, 256 rectifier units): on a 2-core CPU it trains
at 1.75× the speed of the Nature-CNN and its bounds cost a third as much, which is what a certification
zoo that users reproduce on laptops needs.
"""

from __future__ import annotations

import copy
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.atari_wrappers import ClipRewardEnv, EpisodicLifeEnv
from stable_baselines3.common.buffers import NStepReplayBuffer, ReplayBuffer
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from torch import nn

from rlcert.agents.policies import TorchModulePolicy
from rlcert.agents.recipes import ZooRecipe
from rlcert.envs.factory import make_env, resolve_env_spec
from rlcert.envs.wrappers import GaussianFrameNoise
from rlcert.reports.errors import InvalidValueError

__all__ = [
    "AtariCnn",
    "HalfPrecisionReplayBuffer",
    "HalfPrecisionNStepReplayBuffer",
    "RecordGameReturn",
    "training_env",
    "replay_buffer_class",
    "sb3_policy_kwargs",
    "atari_cnn_policy_kwargs",
    "sequential_policy",
    "load_sequential_into_model",
    "use_channels_last",
]


class AtariCnn(BaseFeaturesExtractor):
    """The Mnih et al. (2013) DQN torso on 4×84×84 frames in [0, 1]: conv 16@8/4, conv 32@4/2, dense 256."""

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int = 256):
        super().__init__(observation_space, features_dim)
        channels = observation_space.shape[0]
        self.cnn = nn.Sequential(
            nn.Conv2d(channels, 16, 8, stride=4), nn.ReLU(), nn.Conv2d(16, 32, 4, stride=2), nn.ReLU(), nn.Flatten()
        )
        with torch.no_grad():
            flat = self.cnn(torch.zeros(1, *observation_space.shape)).shape[1]
        self.linear = nn.Sequential(nn.Linear(flat, features_dim), nn.ReLU())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.linear(self.cnn(observations))


class RecordGameReturn(gym.Wrapper):
    """Puts the raw game return in ``info["game_episode"]`` when a real episode ends, so a learning curve
    shows game scores even when wrappers above clip rewards and end training episodes at life losses."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._return, self._length = 0.0, 0

    def reset(self, **kwargs):
        self._return, self._length = 0.0, 0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._return += float(reward)
        self._length += 1
        if terminated or truncated:
            info = {**info, "game_episode": {"return": self._return, "length": self._length}}
        return obs, reward, terminated, truncated, info


def _raw_wrappers(recipe: ZooRecipe, atari: bool):
    def wrap(env: gym.Env) -> gym.Env:
        if recipe.noise_sigma > 0:
            env = GaussianFrameNoise(env, recipe.noise_sigma)
        env = RecordGameReturn(env)
        if atari:
            env = ClipRewardEnv(EpisodicLifeEnv(env))
        return env

    return wrap


class AdversarialObservations(VecEnvWrapper):
    """PGD adversarial training's observations: the newest frame of every observation the training envs return
    moved by untargeted l-inf PGD (``rlcert.attacks.pgd.pgd_linf``) against the greedy action of ``scores``, the
    model being trained (set once the model exists). Terminal observations in ``infos`` stay clean: they only
    bootstrap values at time limits."""

    def __init__(self, venv: VecEnv, eps: float, steps: int, box: tuple[float, float] | None):
        super().__init__(venv)
        self.eps, self.steps, self.box = eps, steps, box
        self.scores: Any = None

    def _perturb(self, obs: np.ndarray) -> np.ndarray:
        if self.scores is None:
            raise RuntimeError("AdversarialObservations has no model to attack yet")  # a bug, not a user error
        from rlcert.attacks.pgd import pgd_linf

        x = torch.as_tensor(obs, dtype=torch.float32)
        if x.dim() < 3:  # vector observations: the whole observation
            return pgd_linf(self.scores, x, self.eps, self.steps, self.box).numpy()
        history = x[:, :-1]
        newest = pgd_linf(self.scores, x[:, -1], self.eps, self.steps, self.box,
                          lambda frame: torch.cat([history, frame.unsqueeze(1)], dim=1))  # fmt: skip
        return torch.cat([history, newest.unsqueeze(1)], dim=1).numpy()

    def reset(self) -> np.ndarray:
        return self._perturb(self.venv.reset())

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        return self._perturb(obs), rewards, dones, infos


def model_scores(model) -> Any:
    """The differentiable scores an SB3 DQN or PPO model acts greedily on: Q-values or the action logits."""
    if hasattr(model, "q_net"):
        return model.q_net

    def logits(obs: torch.Tensor) -> torch.Tensor:
        return model.policy.get_distribution(obs).distribution.logits

    return logits


def training_env(recipe: ZooRecipe, seed: int, processes: bool = False, model=None) -> VecEnv:
    """``recipe.n_envs`` training copies of the recipe's env (noise and training conventions below the stack).

    ``processes`` steps each copy in its own process (SB3's SubprocVecEnv): the envs then step in
    parallel while the learner waits, which pays only with spare cores (on 2 cores Atari PPO ran 17 %
    slower than in-process). The copies and their seeds are the same either way. A PGD adversarially trained
    recipe's envs attack ``model`` (set it later, as ``vec_env.scores = model_scores(model)``, when the model is
    built on these envs).
    """
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    spec = resolve_env_spec(recipe.env)
    wrap = _raw_wrappers(recipe, spec.atari)
    vec_env_cls = SubprocVecEnv if processes and recipe.n_envs > 1 else DummyVecEnv
    vec_env = make_vec_env(lambda: make_env(recipe.env, wrap_raw=wrap), n_envs=recipe.n_envs, seed=seed,
                           vec_env_cls=vec_env_cls)  # fmt: skip
    if recipe.adversarial_eps > 0 and recipe.adversarial_method == "pgd":
        vec_env = AdversarialObservations(vec_env, recipe.adversarial_eps, recipe.adversarial_steps,
                                          spec.observation_box)  # fmt: skip
        vec_env.scores = None if model is None else model_scores(model)
    return vec_env


class HalfPrecisionReplayBuffer(ReplayBuffer):
    """SB3's replay buffer with observations stored in float16: 100k Atari transitions (4×84×84 frames)
    take 5.6 GB instead of 11.3 GB. Preprocessed frames are k/255, which float16 holds to within 2.5e-4
    (under half a grey level); training noise is kept unclipped, as the smoothed policy sees it. Samples
    come back as float32."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # np.zeros maps untouched pages lazily, so the float32 arrays above never took real memory.
        self.observations = np.zeros(self.observations.shape, dtype=np.float16)
        if not self.optimize_memory_usage:
            self.next_observations = np.zeros(self.next_observations.shape, dtype=np.float16)

    def _get_samples(self, batch_inds: np.ndarray, env: Any = None) -> Any:
        samples = super()._get_samples(batch_inds, env)
        return samples._replace(
            observations=samples.observations.float(), next_observations=samples.next_observations.float()
        )


class HalfPrecisionNStepReplayBuffer(HalfPrecisionReplayBuffer, NStepReplayBuffer):
    """SB3's n-step replay buffer (returns over ``n_steps`` transitions, Hessel et al. 2018 §3 "multi-step
    learning") with float16 observations. It cannot share frames between observations and next
    observations, so 100k Atari transitions take 11.3 GB."""


def replay_buffer_class(recipe: ZooRecipe) -> dict[str, Any]:
    """The SB3 keyword for the recipe's replay buffer: float16 storage for Atari DQN (n-step when the
    recipe's ``replay_buffer_kwargs`` ask for ``n_steps`` > 1), SB3's default else."""
    if recipe.algorithm != "dqn" or recipe.network != "atari-cnn":
        return {}
    n_steps = recipe.hyperparameters.get("replay_buffer_kwargs", {}).get("n_steps", 1)
    return {"replay_buffer_class": HalfPrecisionNStepReplayBuffer if n_steps > 1 else HalfPrecisionReplayBuffer}


def atari_cnn_policy_kwargs() -> dict[str, Any]:
    """SB3 ``CnnPolicy`` keywords for the :class:`AtariCnn` torso straight into the heads. Observations are
    already scaled to [0, 1] by the factory: no second division by 255."""
    return {"features_extractor_class": AtariCnn, "normalize_images": False, "net_arch": []}


def sb3_policy_kwargs(recipe: ZooRecipe) -> tuple[str, dict[str, Any]]:
    """The SB3 policy class name and its keyword arguments for the recipe's network."""
    if recipe.network == "atari-cnn":
        kwargs = atari_cnn_policy_kwargs()
        if recipe.algorithm == "dqn":
            # DQN takes an Adam step every 4 env steps: torch's default per-tensor Adam cost 2.4 ms of
            # each ~28 ms on a 2-core EPYC, the fused kernel a tenth of that (same update to float
            # rounding). PPO steps Adam 16 times per 1,024 env steps, where it does not matter.
            kwargs["optimizer_kwargs"] = {"fused": True}
        return "CnnPolicy", kwargs
    return "MlpPolicy", {"net_arch": list(recipe.net_arch)}


def use_channels_last(model) -> None:
    """Store the SB3 model's convolution weights channels-last, after SB3 initialised them (its
    orthogonal init needs contiguous weights). oneDNN then picks its NHWC kernels: a PPO update batch
    (256 frames, forward and backward) ran 2× faster on a 2-core EPYC and whole PPO training 1.2-1.7×,
    with the same fp32 arithmetic. ``sequential_policy`` hands out plain contiguous copies."""
    model.policy.to(memory_format=torch.channels_last)  # a DQN's target network is part of its policy


def _flat_layers(module: nn.Module) -> list[nn.Module]:
    if isinstance(module, AtariCnn):
        return [*module.cnn, *module.linear]
    if isinstance(module, nn.Sequential):
        return [layer for child in module for layer in _flat_layers(child)]
    if hasattr(module, "flatten") and isinstance(module.flatten, nn.Flatten):  # SB3's FlattenExtractor
        return [nn.Flatten()]
    return [module]


def _greedy_path(model) -> tuple[list[nn.Module], str]:
    """The layers of an SB3 DQN or PPO model that its deterministic action goes through, in order."""
    policy = model.policy
    if hasattr(policy, "q_net"):
        parts, output = [policy.q_net.features_extractor, policy.q_net.q_net], "q_values"
    else:
        # A PPO's action_net gives logits (Discrete) or the Gaussian's mean, which SB3 clips at test time (Box).
        output = "action_mean" if isinstance(model.action_space, gym.spaces.Box) else "logits"
        parts = [policy.features_extractor, policy.mlp_extractor.policy_net, policy.action_net]
    return [layer for part in parts for layer in _flat_layers(part)], output


def sequential_policy(model, observation_space: gym.Space, name: str) -> TorchModulePolicy:
    """The greedy policy of an SB3 DQN or PPO model as a ``TorchModulePolicy`` over an ``nn.Sequential``."""
    layers, output = _greedy_path(model)
    module = nn.Sequential(*[copy.deepcopy(layer) for layer in layers]).to("cpu", memory_format=torch.contiguous_format)
    module.eval().requires_grad_(False)
    return TorchModulePolicy(module, observation_space, model.action_space, output, name=name)


def load_sequential_into_model(model, source: TorchModulePolicy) -> None:
    """The inverse of ``sequential_policy``: copy a stored policy's weights into an SB3 model built for the
    same network (a DQN's target network too). A PPO's value head is not part of the stored policy and
    keeps its fresh initialisation.

    Raises:
        ValueError: when the two networks differ in their layers.
    """
    layers, output = _greedy_path(model)
    stored = list(source.module)
    shapes = [[tuple(t.shape) for t in layer.state_dict().values()] for layer in layers]
    stored_shapes = [[tuple(t.shape) for t in layer.state_dict().values()] for layer in stored]
    if output != source.output or [type(x) for x in layers] != [type(x) for x in stored] or shapes != stored_shapes:
        raise InvalidValueError(
            f"policy {source.name!r} ({source.output}, {len(stored)} layers) does not fit the model being "
            f"trained ({output}, {len(layers)} layers): a warm start needs the same network"
        )
    with torch.no_grad():
        for layer, weights in zip(layers, stored):
            layer.load_state_dict({k: v.float() for k, v in weights.state_dict().items()})
    if hasattr(model, "q_net_target"):
        model.q_net_target.load_state_dict(model.q_net.state_dict())


def check_same_actions(model, policy: TorchModulePolicy, observations: np.ndarray) -> None:
    """The converted policy must choose SB3's deterministic action on every given observation."""
    expected, _ = model.predict(observations, deterministic=True)
    if not np.array_equal(np.asarray(expected), policy.act(observations)):
        raise RuntimeError("the converted policy disagrees with the SB3 model's deterministic actions")
