"""A learned hijacker: Adversarial Surprise's Explore player turned against a *frozen* trained policy
(Fickinger, Jaques et al. 2021, §6; REFERENCE §6).

The hijacker takes over the body of the policy under test for ``steps`` steps, then hands it back; it is paid
for what the policy then suffers over the next ``window`` steps, as Explore is paid minus what Control makes of
the next round:

* ``surprise``: the policy's mean surprise −log p(o) over the window, under a density p fitted to the
  observations of the policy's own clean episodes (its familiar states; a per-feature Gaussian,
  ``rlcert.training.density_models``). An episode that ends inside the window leaves the body in its last
  state, whose surprise counts for the rest of the window;
* ``return-loss``: minus the policy's return over the window (an ended episode earns nothing more).

The hijacker's MDP (:class:`HijackerEnv`) is episodic: the frozen policy plays ``start`` steps (a random start
in ``start_range``, from the episode's seed, so the hijacker learns from many situations), the hijacker acts
``steps`` times seeing what the policy would see, then the frozen policy plays the window and the reward arrives
on the hijacker's last step. It is trained with Stable-Baselines3's PPO and exported as a plain network
(a ``TorchModulePolicy``) that ``rlcert.envs.hijack.Hijack`` runs: an MLP over vector observations, and over
image frames (Atari's 84 × 84) the Mnih et al. (2013) convolutional torso of the zoo's Atari agents, on the
current frame (the hijacker sees what the probe hands it, one raw frame; an MLP over 7,056 pixels did no better
than random actions on Pong).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rlcert.attacks.base import Policy
from rlcert.envs.factory import EnvSpec, make_raw_env, resolve_env_spec
from rlcert.envs.rollout import run
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_count
from rlcert.training.density_models import GaussianDensity

__all__ = ["HijackerConfig", "SurpriseModel", "HijackerEnv", "TrainedHijacker", "fit_surprise_model",
           "train_hijacker", "is_image_space", "HIJACK_OBJECTIVES"]  # fmt: skip

HIJACK_OBJECTIVES = ("surprise", "return-loss")


@dataclass(frozen=True)
class HijackerConfig:
    """The hijack and the learner's budget."""

    steps: int = 10
    """Hijacked steps."""
    window: int = 50
    """Steps of the frozen policy after the hijack over which its suffering is measured."""
    start_range: tuple[int, int] = (20, 100)
    """Training hijacks begin at a step drawn uniformly from this range."""
    objective: str = "surprise"
    """surprise (mean −log p of the policy's observations after the hijack) or return-loss."""
    timesteps: int = 20_000
    """Hijacker steps of PPO training."""
    clean_episodes: int = 20
    """Clean episodes of the policy the surprise model is fitted to."""
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "window", "timesteps", "clean_episodes"):
            check_count(name, getattr(self, name))
        check_count("seed", self.seed, 0)
        low, high = self.start_range
        if not 0 <= low <= high:
            raise InvalidValueError(f"start_range must be two steps 0 <= low <= high, got {self.start_range}")
        if self.objective not in HIJACK_OBJECTIVES:
            raise InvalidValueError(f"objective must be one of {', '.join(HIJACK_OBJECTIVES)}, got {self.objective!r}")


@dataclass(frozen=True)
class SurpriseModel:
    """−log p(o) under a per-feature Gaussian of the policy's clean observations, and the level 95 % of them stay
    below (where a state counts as familiar again)."""

    density: GaussianDensity
    familiar_level: float

    def surprise(self, observation: Any) -> float:
        return -self.density.log_prob(np.asarray(observation, dtype=np.float64).reshape(-1))


def fit_surprise_model(policy: Policy, env: str | EnvSpec, episodes: int, seed: int) -> SurpriseModel:
    """The surprise model of ``policy``'s clean episodes on ``env`` (frames as the probes see them)."""
    spec = resolve_env_spec(env)
    recorded = run(policy, spec, episodes, seed=seed, record_steps=True)
    frames = np.concatenate([np.asarray(r.frames, dtype=np.float64).reshape(len(r.frames), -1)
                             for r in recorded.records])  # fmt: skip
    density = GaussianDensity(frames.shape[1], min_variance=1e-4)
    for frame in frames:
        density.add(frame)
    levels = np.array([-density.log_prob(frame) for frame in frames])
    return SurpriseModel(density, float(np.quantile(levels, 0.95)))


class HijackerEnv(gym.Env):
    """The hijacker's episodic MDP against a frozen policy (module docstring)."""

    def __init__(self, policy: Policy, env: str | EnvSpec, model: SurpriseModel, config: HijackerConfig) -> None:
        self.policy, self.model, self.config = policy, model, config
        self.spec_ = resolve_env_spec(env)
        # The hijacker sees raw frames, as the Hijack probe does (below the frame stack); the frozen policy sees
        # them stacked as the rollout engine stacks them (the first frame repeated at a reset).
        self.env = make_raw_env(self.spec_)
        self.frames: deque = deque(maxlen=self.spec_.frame_stack)
        self.observation_space = self.env.observation_space
        self.action_space = self.env.action_space
        self._seeds: np.random.SeedSequence | None = None
        self._episode = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._seeds, self._episode = np.random.SeedSequence(seed), 0
        elif self._seeds is None:
            self._seeds = np.random.SeedSequence(self.config.seed)
        episode_seed = np.random.SeedSequence(self._seeds.entropy, spawn_key=(*self._seeds.spawn_key, self._episode))
        self._episode += 1
        draws = np.random.default_rng(episode_seed)
        while True:  # the frozen policy plays up to the hijack; an episode that ends before it is played again
            observation, _ = self.env.reset(seed=int(draws.integers(2**31)))
            self.frames.extend([observation] * self.spec_.frame_stack)
            start = int(draws.integers(self.config.start_range[0], self.config.start_range[1] + 1))
            ended = False
            for _ in range(start):
                observation, _, terminated, truncated, _ = self.env.step(self._policy_action())
                self.frames.append(observation)
                if terminated or truncated:
                    ended = True
                    break
            if not ended:
                break
        self._observation, self._hijacked = observation, 0
        return observation, {"start": start}

    def _policy_action(self) -> Any:
        """The frozen policy's action on the frames it has seen (stacked where the env stacks them)."""
        seen = np.stack(self.frames) if self.spec_.frame_stack > 1 else self.frames[-1]
        action = self.policy.act(np.asarray(seen)[None])[0]
        return int(action) if isinstance(self.env.action_space, gym.spaces.Discrete) else action

    def step(self, action: Any):
        observation, _, terminated, truncated, info = self.env.step(action)
        self.frames.append(observation)
        self._observation, self._hijacked = observation, self._hijacked + 1
        if terminated or truncated or self._hijacked >= self.config.steps:
            reward, suffered = self._window(observation, terminated or truncated)
            return observation, reward, True, False, {**info, "suffered": suffered}
        return observation, 0.0, False, False, info

    def _window(self, observation: Any, ended: bool) -> tuple[float, float]:
        """The hijacker's reward: what the frozen policy suffers over the window after the hijack."""
        surprises, returns = [self.model.surprise(observation)], 0.0
        for _ in range(self.config.window - 1):
            if ended:
                surprises.append(surprises[-1])  # the body stays where the episode ended
                continue
            observation, reward, terminated, truncated, _ = self.env.step(self._policy_action())
            self.frames.append(observation)
            returns += float(reward)
            surprises.append(self.model.surprise(observation))
            ended = terminated or truncated
        suffered = float(np.mean(surprises)) if self.config.objective == "surprise" else -returns
        return suffered, suffered


@dataclass(frozen=True)
class TrainedHijacker:
    policy: Any
    """A ``TorchModulePolicy`` over the env's raw frames (what the Hijack probe hands it)."""
    config: HijackerConfig
    model: SurpriseModel
    curve: tuple[tuple[int, float], ...]
    """(hijacker steps, mean reward of the episodes finished since the last row)."""
    seconds: float


def is_image_space(space: gym.Space) -> bool:
    """Frames a convolutional hijacker reads: a 2-D (H, W) or 3-D (C, H, W) box at least 20 pixels a side, the
    smallest input the Mnih et al. torso (8 × 8 stride 4, then 4 × 4 stride 2) maps to a feature."""
    return isinstance(space, gym.spaces.Box) and len(space.shape) in (2, 3) and min(space.shape[-2:]) >= 20


class _ChannelFirst(gym.ObservationWrapper):
    """Gives (H, W) frames the channel axis a convolution needs: (1, H, W)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.observation_space
        self.observation_space = gym.spaces.Box(space.low[None], space.high[None], dtype=space.dtype)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return observation[None]


def train_hijacker(policy: Policy, env: str | EnvSpec, config: HijackerConfig,
                   model: SurpriseModel | None = None) -> TrainedHijacker:  # fmt: skip
    """Fit the surprise model (unless given) and train a hijacker of ``policy`` with PPO (module docstring)."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from torch import nn

    from rlcert.agents.policies import TorchModulePolicy
    from rlcert.agents.sb3_setup import atari_cnn_policy_kwargs, sequential_policy, use_channels_last

    streams = np.random.SeedSequence(config.seed).spawn(3)
    model = model or fit_surprise_model(policy, env, config.clean_episodes, int(streams[0].generate_state(1)[0]))
    hijack_env = HijackerEnv(policy, env, model, config)
    hijack_env.reset(seed=int(streams[1].generate_state(1)[0]))
    frames = hijack_env.observation_space
    images = is_image_space(frames)
    learner_env = _ChannelFirst(hijack_env) if images and len(frames.shape) == 2 else hijack_env
    network = ("CnnPolicy", atari_cnn_policy_kwargs()) if images else ("MlpPolicy", {"net_arch": [64, 64]})
    curve: list[tuple[int, float]] = []

    class Record(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.rewards: list[float] = []

        def _on_step(self) -> bool:
            for info, done in zip(self.locals["infos"], self.locals["dones"]):
                if done and "suffered" in info:
                    self.rewards.append(info["suffered"])
            if len(self.rewards) >= 50:
                curve.append((self.num_timesteps, float(np.mean(self.rewards))))
                self.rewards = []
            return True

    started = time.perf_counter()
    numpy_state = np.random.get_state()  # SB3's seed also seeds numpy's global generator: put it back after
    try:
        with torch.random.fork_rng(devices=[]):
            learner = PPO(network[0], learner_env, n_steps=512, batch_size=128, gamma=0.99,
                          seed=int(streams[2].generate_state(1)[0]), verbose=0, device="cpu",
                          policy_kwargs=network[1])  # fmt: skip
            if images:
                use_channels_last(learner)
            learner.learn(config.timesteps, callback=Record())
    finally:
        np.random.set_state(numpy_state)
    hijacker = sequential_policy(learner, learner_env.observation_space, name="learned-hijacker")
    if learner_env is not hijack_env:  # the probe hands the hijacker (H, W) frames: the channel axis goes inside
        layers = nn.Sequential(nn.Unflatten(1, (1, frames.shape[0])), *hijacker.module)  # (B, H, W) → (B, 1, H, W)
        hijacker = TorchModulePolicy(layers, frames, hijacker.action_space, hijacker.output, name=hijacker.name)
    return TrainedHijacker(hijacker, config, model, tuple(curve), time.perf_counter() - started)
