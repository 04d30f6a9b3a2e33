"""Training Adversarial Surprise and its baselines on the multi-room env (Fickinger, Jaques et al. 2021, §4–5;
REFERENCE §6), on Stable-Baselines3's PPO update.

The game has two learners in one body, which no SB3 ``learn`` loop knows, so this module collects the rollouts
itself and hands each player's transitions to that player's own SB3 ``PPO`` (its buffer, GAE and clipped update
unchanged). ``envs`` games run in lockstep: their rounds have fixed lengths and the env never ends an episode
early, so at every step all of them are in the same player's turn, and each player's buffer holds exactly its
own steps. A player's episode is its own rounds of the game; what the other player does in between is part of
its environment, so the value of its next own-turn state bootstraps its round's last step. Explore's reward,
minus Control's next-round return, is added to its last step of the round once that Control round ends
(``GameStep.explore_credit``). Both players are updated after every ``episodes_per_update`` episodes, at an
episode boundary, where the run also checkpoints.

Methods (all on the same env, seeds and frame budget):

* ``adversarial-surprise``: Explore and Control alternating (the authors' 4 rounds of 32 steps, Explore first);
* ``smirl``: SMiRL (Berseth et al. 2021), Control alone for the whole episode, rewarded log p(o) at every step;
* ``rnd``: Random Network Distillation (Burda et al. 2019): reward the error of a predictor trained to match a
  fixed random network on the observation, normalized by a running standard deviation;
* ``random``: uniformly random actions (no learning; the coverage floor).

Every episode's coverage (rooms and cells visited), the game's returns and the lights frozen are recorded per
update, for the curves. Every random stream is a ``SeedSequence`` child of the run's seed; a run resumed from its
checkpoint repeats the uninterrupted one (the env seeds are drawn per episode index, torch's generator is saved).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from pickle import UnpicklingError  # the error torch's weights-only loader raises on a damaged file; never unpickles
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlcert.agents.training_checkpoint import save_atomic
from rlcert.envs.factory import make_env
from rlcert.reports.errors import InvalidValueError, OperationError
from rlcert.reports.validation import check_count, check_finite
from rlcert.training.adversarial_surprise import CONTROL, EXPLORE, GameConfig, SurpriseGame

__all__ = [
    "SurpriseTrainingConfig",
    "SurpriseRun",
    "train_surprise",
    "load_surprise_run",
    "policy_input",
    "SURPRISE_METHODS",
]

SURPRISE_METHODS = ("adversarial-surprise", "smirl", "rnd", "random")
ENV_STREAM, TORCH_STREAM, MINIBATCH_STREAM = 21, 22, 23
_CHECKPOINT_KEYS = {"fingerprint", "learners", "rnd", "torch_rng", "updates", "frames", "curve", "seconds"}


@dataclass(frozen=True)
class SurpriseTrainingConfig:
    """One training run of a method on the multi-room env (module docstring)."""

    method: str = "adversarial-surprise"
    env: str = "surprise-rooms"
    frames: int = 1_000_000
    """Env steps in all (both players' together; the authors' default is 10M)."""
    envs: int = 16
    """Games run in lockstep."""
    episodes_per_update: int = 4
    """Episodes of every game between two PPO updates (and checkpoints); the authors' 4."""
    round_length: int = 32
    rounds: int = 4
    density: str = "categorical"
    learning_rate: float = 3e-4
    """Adam's step for both players (the authors' 3e-4; their 16 games, 4 epochs, batch 256, γ 0.99, λ 0.95,
    entropy 0.01 and clip 0.2 below too)."""
    gamma: float = 0.99
    gae_lambda: float = 0.95
    epochs: int = 4
    batch_size: int = 256
    entropy_coef: float = 0.01
    clip_range: float = 0.2
    hidden: tuple[int, ...] = (256, 256)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in SURPRISE_METHODS:
            raise InvalidValueError(f"method must be one of {', '.join(SURPRISE_METHODS)}, got {self.method!r}")
        for name in ("frames", "envs", "episodes_per_update", "epochs", "batch_size"):
            check_count(name, getattr(self, name))
        check_count("seed", self.seed, 0)
        for name in ("learning_rate", "clip_range"):
            check_finite(name, getattr(self, name), 0, strict=True)
        check_finite("entropy_coef", self.entropy_coef, 0)
        for name in ("gamma", "gae_lambda"):
            if not 0 < getattr(self, name) <= 1:
                raise InvalidValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        self.game()  # refuses bad rounds or density

    def game(self) -> GameConfig:
        """The game the method plays: the two-player game, or Control alone for the whole episode (SMiRL; RND and
        random use it for its bookkeeping only)."""
        if self.method == "adversarial-surprise":
            return GameConfig(self.round_length, self.rounds, EXPLORE, 0.5, self.density)
        return GameConfig(self.round_length * self.rounds, 1, CONTROL, 0.0, self.density)

    @property
    def episode_length(self) -> int:
        return self.round_length * self.rounds

    @property
    def updates(self) -> int:
        per_update = self.envs * self.episodes_per_update * self.episode_length
        return max(1, -(-self.frames // per_update))


@dataclass(frozen=True)
class SurpriseRun:
    """A trained run: its learners' policies (SB3 PPO models; none for ``random``) and its curve."""

    config: SurpriseTrainingConfig
    learners: dict[str, Any] = field(repr=False)
    curve: tuple[dict[str, float], ...]
    """One row per update: frames, mean rooms and cells visited per episode, returns, lights frozen, ..."""
    seconds: float


class _PlayerSpaces(gym.Env):
    """The spaces SB3 builds a learner's networks and buffer for; never stepped."""

    def __init__(self, features: int, actions: int) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (features,), np.float32)
        self.action_space = gym.spaces.Discrete(actions)

    def reset(self, *, seed=None, options=None):
        return np.zeros(self.observation_space.shape, np.float32), {}

    def step(self, action):
        raise NotImplementedError("a placeholder for the spaces")


def _learner(config: SurpriseTrainingConfig, features: int, actions: int, steps_per_env: int):
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import DummyVecEnv
    from stable_baselines3.common.logger import configure

    spaces = DummyVecEnv([lambda: _PlayerSpaces(features, actions)] * config.envs)
    model = PPO("MlpPolicy", spaces, n_steps=steps_per_env, batch_size=config.batch_size, n_epochs=config.epochs,
                learning_rate=config.learning_rate, gamma=config.gamma, gae_lambda=config.gae_lambda,
                ent_coef=config.entropy_coef, clip_range=config.clip_range, verbose=0, device="cpu",
                policy_kwargs={"net_arch": list(config.hidden)})  # fmt: skip
    model.set_logger(configure(None, []))
    return model


class _RandomNetworkDistillation:
    """Burda et al. (2019, §2.2): intrinsic reward ‖f̂(o) − f(o)‖² of a predictor f̂ trained to match a fixed,
    randomly initialized network f, divided by a running standard deviation of the rewards."""

    def __init__(self, features: int) -> None:
        def network() -> nn.Module:
            return nn.Sequential(nn.Linear(features, 256), nn.ReLU(), nn.Linear(256, 128))

        self.target, self.predictor = network().requires_grad_(False), network()
        self.optimizer = torch.optim.Adam(self.predictor.parameters(), lr=1e-4)
        self.count, self.mean, self.squares = 0, 0.0, 0.0

    def rewards(self, observations: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(observations, dtype=torch.float32)
        with torch.no_grad():
            raw = (self.predictor(x) - self.target(x)).pow(2).mean(1).numpy()
        for value in raw:  # Welford's running variance
            self.count += 1
            delta = value - self.mean
            self.mean += delta / self.count
            self.squares += delta * (value - self.mean)
        scale = np.sqrt(self.squares / max(self.count - 1, 1)) + 1e-8
        return (raw / scale).astype(np.float32)

    def fit(self, observations: np.ndarray, epochs: int = 4, batch: int = 256) -> None:
        x = torch.as_tensor(observations, dtype=torch.float32)
        for _ in range(epochs):
            for rows in torch.randperm(len(x)).split(batch):
                loss = (self.predictor(x[rows]) - self.target(x[rows])).pow(2).mean()
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()

    def state_dict(self) -> dict[str, Any]:
        return {"target": self.target.state_dict(), "predictor": self.predictor.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                # plain floats: a numpy scalar is not among what a weights-only load accepts
                "moments": [int(self.count), float(self.mean), float(self.squares)]}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.target.load_state_dict(state["target"])
        self.predictor.load_state_dict(state["predictor"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.count, self.mean, self.squares = int(state["moments"][0]), *map(float, state["moments"][1:])


def policy_input(augmented: np.ndarray, observation_features: int) -> np.ndarray:
    """What a player's network reads: minigrid's cell indices (0..10) scaled to [0, 1], θ and t as they are."""
    scaled = np.array(augmented, dtype=np.float32)
    scaled[..., :observation_features] /= 10.0
    return scaled


def _fingerprint(config: SurpriseTrainingConfig) -> str:
    return json.dumps(asdict(config) | {"frames": None}, sort_keys=True)


def _load(path: Path, config: SurpriseTrainingConfig | None) -> dict[str, Any] | None:
    """The checkpoint in ``path`` (None when there is none), refused when it cannot be read, is not one of ours,
    or belongs to another configuration than ``config`` (None: whatever configuration it records)."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, UnpicklingError) as error:  # a damaged file
        raise OperationError(f"{path} cannot be read ({type(error).__name__}); remove it to start afresh") from None
    if not isinstance(state, dict) or set(state) != _CHECKPOINT_KEYS:
        raise OperationError(f"{path} is not a surprise-training checkpoint of this version; remove it to start afresh")
    if config is not None and state["fingerprint"] != _fingerprint(config):
        raise OperationError(f"{path} belongs to another method or configuration; remove it to start afresh")
    return state


def _setup(config: SurpriseTrainingConfig, saved: dict[str, Any] | None):
    """Games, learners (restored from the checkpoint state ``saved``, when there is one) and the run's state so
    far."""
    game_config = config.game()
    games = [SurpriseGame(make_env(config.env), game_config) for _ in range(config.envs)]
    features = int(np.prod(games[0].env.observation_space.shape))
    actions = int(games[0].env.action_space.n)
    width = games[0].augmented(np.zeros(features)).shape[0]
    players = {"adversarial-surprise": (EXPLORE, CONTROL), "smirl": (CONTROL,), "rnd": (CONTROL,),
               "random": ()}[config.method]  # fmt: skip
    rounds_of = {p: sum(game_config.player_of_round(r) == p for r in range(game_config.rounds)) for p in players}
    steps_per_env = {p: rounds_of[p] * game_config.round_length * config.episodes_per_update for p in players}
    torch.manual_seed(int(np.random.SeedSequence(config.seed, spawn_key=(TORCH_STREAM,)).generate_state(1)[0]))
    learners = {p: _learner(config, width, actions, steps_per_env[p]) for p in players}
    rnd = _RandomNetworkDistillation(features + 1) if config.method == "rnd" else None
    state = {"curve": [], "seconds": 0.0, "frames": 0, "updates": 0}
    if saved is not None:
        for p, learner_state in saved["learners"].items():
            learners[p].policy.load_state_dict(learner_state["policy"])
            learners[p].policy.optimizer.load_state_dict(learner_state["optimizer"])
        if rnd is not None:
            rnd.load_state_dict(saved["rnd"])
        torch.random.set_rng_state(saved["torch_rng"])
        state = {"curve": list(saved["curve"]), "seconds": float(saved["seconds"]), "frames": int(saved["frames"]),
                 "updates": int(saved["updates"])}  # fmt: skip
    return games, features, learners, rnd, state


def load_surprise_run(checkpoint: str | Path, config: SurpriseTrainingConfig | None = None) -> SurpriseRun:
    """The run saved in ``checkpoint`` as it stands (finished or not), without training it further; its
    configuration is the one the checkpoint records unless ``config`` is given."""
    path = Path(checkpoint)
    saved = _load(path, config)
    if saved is None:
        raise OperationError(f"{path} does not exist: train the run first (rlcert train surprise)")
    if config is None:  # the fingerprint is the configuration, its budget left out
        recorded = json.loads(saved["fingerprint"])
        config = SurpriseTrainingConfig(**(recorded | {"frames": SurpriseTrainingConfig.frames,
                                                       "hidden": tuple(recorded["hidden"])}))  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        _, _, learners, _, state = _setup(config, saved)
    return SurpriseRun(config, learners, tuple(state["curve"]), state["seconds"])


def train_surprise(config: SurpriseTrainingConfig, checkpoint: str | Path | None = None,
                   on_update: Any = None) -> SurpriseRun:  # fmt: skip
    """Train ``config.method`` for ``config.frames`` env steps (module docstring); with ``checkpoint`` (a file)
    the run saves itself after every update and a rerun resumes there. ``on_update`` sees each curve row."""
    path = Path(checkpoint) if checkpoint is not None else None
    with torch.random.fork_rng(devices=[]):
        games, features, learners, rnd, state = _setup(config, _load(path, config) if path is not None else None)
        curve, seconds, frames, update = state["curve"], state["seconds"], state["frames"], state["updates"]
        start = time.perf_counter()
        while update < config.updates:
            action_rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(ENV_STREAM, update, 1)))
            row = _collect_and_update(config, games, learners, rnd, features, update, action_rng)
            update += 1
            frames += config.envs * config.episodes_per_update * config.episode_length
            row = {"update": update, "frames": frames} | row
            curve.append(row)
            if on_update is not None:
                on_update(row)
            if path is not None:
                saved = {"fingerprint": _fingerprint(config), "updates": update, "frames": frames, "curve": curve,
                         "seconds": seconds + time.perf_counter() - start, "torch_rng": torch.random.get_rng_state(),
                         "learners": {p: {"policy": m.policy.state_dict(), "optimizer": m.policy.optimizer.state_dict()}
                                      for p, m in learners.items()},
                         "rnd": rnd.state_dict() if rnd is not None else None}  # fmt: skip
                save_atomic(saved, path)
    return SurpriseRun(config, learners, tuple(curve), seconds + time.perf_counter() - start)


def _collect_and_update(config, games, learners, rnd, features, update, action_rng) -> dict[str, float]:
    """Play ``episodes_per_update`` episodes of every game, fill each learner's buffer with its own steps, and update
    each learner; the curve row of what was played."""
    from stable_baselines3.common.utils import obs_as_tensor

    for model in learners.values():
        model.rollout_buffer.reset()
        model.policy.set_training_mode(False)
    stats: dict[str, list[float]] = {"rooms_visited": [], "cells_visited": [], "rooms_frozen": [], "dark_share": [],
                                     "control_return": [], "explore_return": [], "intrinsic_return": []}  # fmt: skip
    rnd_observations = []
    for episode in range(config.episodes_per_update):
        episode_seeds = np.random.SeedSequence(config.seed, spawn_key=(ENV_STREAM, update, 0, episode))
        seeds = episode_seeds.generate_state(len(games))
        observations = np.stack([g.reset(int(s))[0] for g, s in zip(games, seeds)])
        first_turn = {p: True for p in learners}
        last_explore_row = None
        returns = {p: np.zeros(len(games)) for p in (EXPLORE, CONTROL)}
        intrinsic = np.zeros(len(games))
        dark, control_steps = np.zeros(len(games)), 0
        for _ in range(config.episode_length):
            player = games[0].player
            inputs = policy_input(observations, features)
            model = learners.get(player)
            if model is None:  # random
                chosen = action_rng.integers(games[0].env.action_space.n, size=len(games))
            else:
                with torch.no_grad():
                    chosen_t, values, log_probs = model.policy(obs_as_tensor(inputs, "cpu"))
                chosen = chosen_t.numpy()
            steps = [g.step(int(a)) for g, a in zip(games, chosen)]
            # log p sums one term per feature (147 for minigrid): learned on a per-feature scale, so that PPO's value
            # targets stay of order one; a common positive factor changes neither player's optimum
            rewards = np.array([s.reward for s in steps], dtype=np.float32) / features
            if rnd is not None:
                seen = np.stack([np.append(np.asarray(g.last_observation, np.float32).reshape(-1) / 10.0,
                                           g.step_in_episode / g.config.episode_length) for g in games])  # fmt: skip
                rewards = rnd.rewards(seen)
                rnd_observations.append(seen)
                intrinsic += rewards
            returns[player] += np.array([s.reward for s in steps])
            if player == CONTROL:  # where Control keeps the body: in the dark, its observations are predictable
                dark += np.array([bool(s.info.get("dark")) for s in steps])
                control_steps += 1
            if model is not None:
                buffer = model.rollout_buffer
                row = buffer.pos
                buffer.add(inputs, chosen.reshape(-1, 1), rewards, np.full(len(games), first_turn[player]), values,
                           log_probs)  # fmt: skip
                first_turn[player] = False
                if player == EXPLORE:
                    last_explore_row = row
            credits = [s.explore_credit for s in steps]
            if credits[0] is not None:
                credit = np.array(credits, dtype=np.float32)
                returns[EXPLORE] += credit
                if EXPLORE in learners and last_explore_row is not None:
                    learners[EXPLORE].rollout_buffer.rewards[last_explore_row] += credit / features
            observations = np.stack([s.observation for s in steps])
        infos = [s.info for s in steps]
        stats["rooms_visited"] += [i["rooms_visited"] for i in infos]
        stats["cells_visited"] += [i["cells_visited"] for i in infos]
        stats["rooms_frozen"] += [i["rooms_frozen"] for i in infos]
        stats["dark_share"] += list(dark / max(control_steps, 1))
        stats["control_return"] += list(returns[CONTROL])
        stats["explore_return"] += list(returns[EXPLORE])
        stats["intrinsic_return"] += list(intrinsic)
    # SB3 shuffles minibatches with numpy's global generator: seeded per update (and put back after), so that a
    # resumed run draws the minibatches an uninterrupted one draws
    saved_numpy = np.random.get_state()
    np.random.seed(np.random.SeedSequence(config.seed, spawn_key=(MINIBATCH_STREAM, update)).generate_state(1)[0])
    try:
        for model in learners.values():
            model.rollout_buffer.compute_returns_and_advantage(last_values=torch.zeros(len(games)),
                                                               dones=np.ones(len(games)))  # fmt: skip
            model.policy.set_training_mode(True)
            model.train()
    finally:
        np.random.set_state(saved_numpy)
    if rnd is not None:
        rnd.fit(np.concatenate(rnd_observations))
    return {key: float(np.mean(values)) for key, values in stats.items()}
