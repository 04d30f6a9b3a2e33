"""What a trained Adversarial Surprise run (or a baseline) does in an episode: the entropy sawtooth, where the body
goes, and how much of the world it covers (Fickinger, Jaques et al. 2021, §5; REFERENCE §6).

:func:`play_surprise` runs a trained run's players greedily or by sampling (their PPO action distributions,
seeded) for ``episodes`` episodes of the multi-room env and records, per step:

* the **observation entropy**: the summed per-cell entropy of the empirical distribution of the last ``window``
  observations (8 by default). It is high where the view keeps changing (flashing lights, new rooms) and low where
  it does not (a dark room, a frozen room, a wall): the paper's claim is that it rises in Explore's rounds and falls
  in Control's, a sawtooth;
* who acts, the room, whether it is dark, and the cell the body stands on (for the visitation heat-map of a fixed
  layout: ``layout_seed`` resets every episode to the same rooms, so the counts add up on one map).

Everything here is ``empirical``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rlcert.reports.validation import check_count
from rlcert.training.adversarial_surprise import EXPLORE, SurpriseGame
from rlcert.training.surprise_training import SurpriseRun, policy_input

__all__ = ["SurprisePlay", "play_surprise", "observation_entropy"]


def observation_entropy(observations: np.ndarray) -> float:
    """Σ over the observation's cells of the entropy (nats) of that cell's empirical value distribution."""
    flat = np.asarray(observations).reshape(len(observations), -1)
    total = 0.0
    for column in flat.T:
        _, counts = np.unique(column, return_counts=True)
        p = counts / counts.sum()
        total -= float((p * np.log(p)).sum())
    return total


@dataclass(frozen=True)
class SurprisePlay:
    """Per-step records of ``episodes`` episodes (arrays of shape (episodes, steps))."""

    method: str
    entropy: np.ndarray
    """Observation entropy over the last ``window`` observations (module docstring)."""
    explore_turn: np.ndarray
    """True where Explore acts (adversarial-surprise only)."""
    dark: np.ndarray
    rooms_visited: np.ndarray
    cells_visited: np.ndarray
    visits: np.ndarray
    """(height, width) counts of the cells the body stood on, over every episode of the fixed layout."""
    walls: np.ndarray
    """(height, width) True where the fixed layout has a wall (for drawing the map)."""
    round_length: int
    window: int

    def mean_entropy_by_step(self) -> np.ndarray:
        return self.entropy.mean(0)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "episodes": int(self.entropy.shape[0]), "window": self.window,
                "round_length": self.round_length, "mean_entropy_by_step": self.mean_entropy_by_step().tolist(),
                "mean_rooms_visited": float(self.rooms_visited[:, -1].mean()),
                "mean_cells_visited": float(self.cells_visited[:, -1].mean()),
                "dark_share": float(self.dark.mean())}  # fmt: skip


def play_surprise(run: SurpriseRun, episodes: int = 16, seed: int = 0, layout_seed: int | None = None,
                  window: int = 8, deterministic: bool = False) -> SurprisePlay:  # fmt: skip
    """Play ``episodes`` episodes with ``run``'s players (module docstring); each episode resets to
    ``layout_seed`` when given (one map), else to a fresh seeded layout."""
    from rlcert.envs.factory import make_env

    check_count("episodes", episodes)
    check_count("window", window)
    config = run.config
    game = SurpriseGame(make_env(config.env), config.game())
    features = int(np.prod(game.env.observation_space.shape))
    actions = int(game.env.action_space.n)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(31,)))
    seeds = np.random.SeedSequence(seed, spawn_key=(32,)).generate_state(episodes)
    length = config.episode_length
    records = {key: np.zeros((episodes, length)) for key in ("entropy", "explore", "dark", "rooms", "cells")}
    raw = game.env.unwrapped
    visits = np.zeros((raw.height, raw.width))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(np.random.SeedSequence(seed, spawn_key=(33,)).generate_state(1)[0]))
        for episode in range(episodes):
            observation, _ = game.reset(int(layout_seed if layout_seed is not None else seeds[episode]))
            recent = [np.asarray(game.last_observation)]
            for t in range(length):
                player = game.player
                model = run.learners.get(player)
                if model is None:
                    action = int(rng.integers(actions))
                else:
                    with torch.no_grad():
                        tensor = torch.as_tensor(policy_input(observation[None], features))
                        action = int(model.policy._predict(tensor, deterministic=deterministic)[0])
                step = game.step(action)
                observation = step.observation
                recent = (recent + [np.asarray(game.last_observation)])[-window:]
                records["entropy"][episode, t] = observation_entropy(np.stack(recent))
                records["explore"][episode, t] = player == EXPLORE
                records["dark"][episode, t] = bool(step.info.get("dark"))
                records["rooms"][episode, t] = step.info["rooms_visited"]
                records["cells"][episode, t] = step.info["cells_visited"]
                x, y = step.info["position"]
                visits[y, x] += 1
    walls = np.array([[cell is not None and cell.type == "wall" for cell in
                       (raw.grid.get(x, y) for x in range(raw.width))] for y in range(raw.height)])  # fmt: skip
    return SurprisePlay(config.method, records["entropy"], records["explore"].astype(bool),
                        records["dark"].astype(bool), records["rooms"], records["cells"], visits, walls,
                        config.game().round_length, window)  # fmt: skip
