"""The Adversarial Surprise game (Fickinger, Jaques et al. 2021, §3; REFERENCE §6): its rounds, its density
model and who is rewarded for what, when.

One body, two players taking turns in fixed rounds of ``round_length`` steps (``rounds`` rounds an episode;
the authors' code: 4 × 32, Explore first). A density model p_θ(o) is fitted online to **Control's**
observations only and reset every episode:

* Control, each step of its round after the first ``unrewarded_fraction`` of it, is rewarded log p_θ(o_{t+1})
  for the observation its action led to, computed before that observation is added to the model. In the first
  part of its round it gets 0 and the model is not updated (the body is still where Explore left it).
* Explore is rewarded, at the end of its round, minus Control's return over the next round (zero-sum): it
  wants to leave Control where Control cannot make its observations predictable. An Explore round that no
  Control round follows (the episode's last) earns 0.

Both players observe [o, θ, t]: the observation, the model's sufficient statistics and the time (the step in
the episode over its length), so each knows what the model has seen and how much of the round is left.

:class:`SurpriseGame` holds this bookkeeping over any gymnasium env, with no learning in it; the trainers
(PPO for both players, SMiRL's Control alone, the hijack stress test) step it and credit each player's own
transitions. Explore's reward arrives after the Control round it depends on: ``GameStep.explore_credit`` is
that reward, to be added to Explore's last transition of the round before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_count
from rlcert.training.density_models import DENSITY_MODELS, make_density

__all__ = ["GameConfig", "GameStep", "SurpriseGame", "EXPLORE", "CONTROL"]

EXPLORE, CONTROL = "explore", "control"


@dataclass(frozen=True)
class GameConfig:
    """The rounds and the density model of the game (defaults: the authors' code)."""

    round_length: int = 32
    rounds: int = 4
    first: str = EXPLORE
    """Who plays the first round: explore or control."""
    unrewarded_fraction: float = 0.5
    """Share of each Control round at its start with no reward and no model update."""
    density: str = "categorical"
    """categorical (per feature; minigrid's cell indices), bernoulli (binary features) or gaussian."""
    classes: int = 11
    """Values per feature of the categorical model (minigrid's object indices are 0..10)."""

    def __post_init__(self) -> None:
        check_count("round_length", self.round_length, 2)
        check_count("rounds", self.rounds)
        if self.first not in (EXPLORE, CONTROL):
            raise InvalidValueError(f"first must be {EXPLORE} or {CONTROL}, got {self.first!r}")
        if not 0 <= self.unrewarded_fraction < 1:
            raise InvalidValueError(f"unrewarded_fraction must be in [0, 1), got {self.unrewarded_fraction}")
        if self.density not in DENSITY_MODELS:
            raise InvalidValueError(f"density must be one of {', '.join(DENSITY_MODELS)}, got {self.density!r}")

    @property
    def episode_length(self) -> int:
        return self.round_length * self.rounds

    @property
    def unrewarded_steps(self) -> int:
        return int(self.unrewarded_fraction * self.round_length)

    def player_of_round(self, index: int) -> str:
        other = CONTROL if self.first == EXPLORE else EXPLORE
        return self.first if index % 2 == 0 else other


@dataclass(frozen=True)
class GameStep:
    """What one action of the body did."""

    observation: np.ndarray
    """[o, θ, t] for the player who acts next (after a game's end: for the last player)."""
    actor: str
    """Who took the action."""
    reward: float
    """The actor's reward for it (Explore's is always 0 here: see ``explore_credit``)."""
    next_player: str
    explore_credit: float | None
    """At the end of a Control round that an Explore round preceded: minus Control's return over the round, the
    reward of Explore's last action of that Explore round. None otherwise."""
    round_over: bool
    done: bool
    """The episode is over (all rounds played, or the env ended it)."""
    log_prob: float | None
    """log p_θ(o) of the new observation under the model before it was added (None where not computed)."""
    info: dict[str, Any] = field(default_factory=dict)


class SurpriseGame:
    """The two-player game over ``env`` (module docstring). ``env`` observations are flattened for the model."""

    def __init__(self, env: gym.Env, config: GameConfig | None = None) -> None:
        self.env, self.config = env, config or GameConfig()
        features = int(np.prod(env.observation_space.shape))
        self.density = make_density(self.config.density, features, self.config.classes)
        self.step_in_episode = 0
        self.control_return = 0.0
        self.last_observation: np.ndarray | None = None

    @property
    def round_index(self) -> int:
        return min(self.step_in_episode // self.config.round_length, self.config.rounds - 1)

    @property
    def step_in_round(self) -> int:
        return self.step_in_episode % self.config.round_length

    @property
    def player(self) -> str:
        """Who acts now."""
        return self.config.player_of_round(self.round_index)

    def augmented(self, observation: np.ndarray) -> np.ndarray:
        """[o, θ, t] as one float vector."""
        time = self.step_in_episode / self.config.episode_length
        return np.concatenate([np.asarray(observation, dtype=np.float32).reshape(-1), self.density.parameters(),
                               np.array([time], dtype=np.float32)])  # fmt: skip

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        observation, info = self.env.reset(seed=seed)
        self.density.reset()
        self.step_in_episode, self.control_return = 0, 0.0
        self.last_observation = observation
        return self.augmented(observation), info

    def step(self, action: Any) -> GameStep:
        actor, step_in_round = self.player, self.step_in_round
        observation, _, terminated, truncated, info = self.env.step(action)
        self.last_observation = observation
        reward, log_prob = 0.0, None
        if actor == CONTROL and step_in_round >= self.config.unrewarded_steps:
            log_prob = self.density.log_prob(observation)  # before the observation is added
            self.density.add(observation)
            reward = log_prob
            self.control_return += reward
        self.step_in_episode += 1
        round_over = self.step_in_episode % self.config.round_length == 0
        done = bool(terminated or truncated) or self.step_in_episode >= self.config.episode_length
        credit = None
        if actor == CONTROL and (round_over or done):  # a Control round ends: settle Explore's reward
            finished = (self.step_in_episode - 1) // self.config.round_length
            if finished > 0 and self.config.player_of_round(finished - 1) == EXPLORE:
                credit = -self.control_return
            self.control_return = 0.0
        next_player = self.player
        return GameStep(self.augmented(observation), actor, reward, next_player, credit, round_over, done, log_prob,
                        info | {"entropy": self.density.entropy(), "round": (self.step_in_episode - 1)
                                // self.config.round_length})  # fmt: skip
