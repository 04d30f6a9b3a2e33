"""PPO-Lagrangian for gymnasium CMDPs (Ray, Achiam & Amodei 2019, "Benchmarking Safe Exploration in Deep RL", §5;
REFERENCE §7), on Stable-Baselines3's PPO.

The constrained problem max E[return] s.t. E[episode cost] ≤ limit becomes the saddle point of the Lagrangian
E[return] − λ (E[cost] − limit). The policy step is PPO on the reward (r − λ c) / (1 + λ); the dual step after
a rollout is λ ← max(0, λ + η (mean episode cost − limit)), the mean over the episodes finished since the last
dual step, taken once there are at least as many as training envs.
With one critic on that reward the advantage is (A_R − λ A_C) / (1 + λ), the combination OmniSafe's two critics
give, up to the critic's fit while λ moves. λ = 0 held fixed (``lagrangian=False``) is plain PPO on the same
env, seeds and budget: the comparison the method is judged by.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlcert.reports.errors import OperationError
from rlcert.reports.validation import check_count, check_finite

__all__ = [
    "LagrangianConfig",
    "LagrangianRun",
    "LagrangianReward",
    "ConstrainedTask",
    "CONSTRAINED_TASKS",
    "train_ppo_lagrangian",
    "save_constrained_agent",
]


@dataclass
class _Multiplier:
    """λ, shared by the training envs (in-process vector env) and the dual step."""

    value: float = 0.0
    finished_costs: list[float] = field(default_factory=list)
    finished_returns: list[float] = field(default_factory=list)


class LagrangianReward(gym.Wrapper):
    """Reward (r − λ c) / (1 + λ) with λ read from a shared multiplier; records each finished episode's cost
    and (unshaped) return for the dual step."""

    def __init__(self, env: gym.Env, multiplier: _Multiplier):
        super().__init__(env)
        self.multiplier = multiplier
        self._cost = self._return = 0.0

    def reset(self, **kwargs):
        self._cost = self._return = 0.0
        return self.env.reset(**kwargs)

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        if "cost" not in info:
            raise OperationError("PPO-Lagrangian needs an env that reports info['cost'] (a CMDP)")
        cost, lam = float(info["cost"]), self.multiplier.value
        self._cost += cost
        self._return += float(reward)
        if terminated or truncated:
            self.multiplier.finished_costs.append(self._cost)
            self.multiplier.finished_returns.append(self._return)
        return observation, (float(reward) - lam * cost) / (1.0 + lam), terminated, truncated, info


@dataclass(frozen=True)
class LagrangianConfig:
    """PPO-Lagrangian (or plain PPO with lagrangian=False) on a gymnasium CMDP."""

    env: str = "rlcert/CartPoleCost-v1"
    """Env id of a CMDP (its steps report info['cost'])."""
    limit: float = 25.0
    """Largest acceptable mean episode cost."""
    timesteps: int = 100_000
    lambda_lr: float = 0.005
    """Dual step size η, in λ per unit of cost above the limit: the multiplier moves by η (mean cost − limit)
    after each rollout, so a task whose episode costs run in the hundreds needs a small one (λ overshoots and
    the return collapses otherwise)."""
    lagrangian: bool = True
    """False: plain PPO (λ stays 0), the baseline."""
    n_envs: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        check_finite("limit", self.limit, 0)
        check_count("timesteps", self.timesteps)
        check_finite("lambda_lr", self.lambda_lr, 0)
        check_count("n_envs", self.n_envs)
        check_count("seed", self.seed, 0)


@dataclass(frozen=True)
class ConstrainedTask:
    """A CMDP with the settings its shipped agents were trained with (``rlcert train ppo-lagrangian --task``)."""

    env: str
    limit: float
    timesteps: int
    lambda_lr: float
    n_envs: int
    ppo: dict[str, Any]
    """Stable-Baselines3 PPO keyword arguments (``lin_X``: linear decay from X to 0)."""
    description: str


# CartPole: rl-baselines3-zoo's tuned CartPole PPO settings (values carried over, as for cartpole-ppo); many short
# rollouts, so that λ moves in small steps. Hydro: 12-stage episodes, 8 envs x 64 steps = 43 episodes a rollout.
CONSTRAINED_TASKS = {
    "cartpole-drift": ConstrainedTask(
        "rlcert/CartPoleDriftCost-v1", 25.0, 300_000, 0.02, 8,
        {"n_steps": 32, "batch_size": 256, "gamma": 0.98, "gae_lambda": 0.8, "n_epochs": 20, "ent_coef": 0.0,
         "learning_rate": "lin_0.001", "clip_range": "lin_0.2"},
        "CartPole paid 50 per unit moved right, cost 1 per step with |x| > 0.5; limit 25 steps an episode",
    ),
    "hydro": ConstrainedTask(
        "rlcert/HydroDispatch-v0", 1.0, 150_000, 0.05, 8,
        {"n_steps": 64, "batch_size": 128, "gamma": 0.99, "n_epochs": 10, "learning_rate": 3e-4},
        "tiny hydrothermal case, 12 weekly stages from half-full reservoirs; cost 1 per stage that ends with the "
        "stored water below 30 % of capacity; limit 1 stage an episode",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class LagrangianRun:
    model: object
    curve: tuple[tuple[int, float, float, float], ...]
    """(timesteps, mean episode return, mean episode cost, λ) at each dual step (plain PPO: at the same points)."""
    wall_time_s: float
    config: LagrangianConfig
    hyperparameters: dict
    """The PPO keyword arguments it trained with (as given, ``lin_X`` schedules unexpanded)."""


def train_ppo_lagrangian(config: LagrangianConfig, ppo_kwargs: dict | None = None) -> LagrangianRun:
    """Train on ``config.env`` and return the model with its learning curve (needs rlcert[train]).
    ``ppo_kwargs``: Stable-Baselines3 PPO keyword arguments, ``lin_X`` for a linear decay from X to 0."""
    try:
        import stable_baselines3 as sb3
        from stable_baselines3.common.callbacks import BaseCallback
        from stable_baselines3.common.env_util import make_vec_env
    except ImportError:
        raise OperationError("training needs Stable-Baselines3: pip install 'rlcert[train]'") from None
    from rlcert.agents.training import expand_schedule
    from rlcert.envs.factory import make_env
    from rlcert.envs.threads import torch_threads

    multiplier = _Multiplier()
    seed = int(np.random.SeedSequence(config.seed).generate_state(1)[0] % 2**31)
    vec_env = make_vec_env(lambda: LagrangianReward(make_env(config.env), multiplier), n_envs=config.n_envs, seed=seed)
    hyper = {key: expand_schedule(value) for key, value in (ppo_kwargs or {}).items()}
    model = sb3.PPO("MlpPolicy", vec_env, seed=seed, verbose=0, **hyper)
    curve: list[tuple[int, float, float, float]] = []

    class DualStep(BaseCallback):
        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            # The dual step waits for an episode from every training env: one or two 500-step episodes are too
            # noisy a cost estimate, and λ, which integrates them, oscillates.
            if len(multiplier.finished_costs) < config.n_envs:
                return
            mean_cost = float(np.mean(multiplier.finished_costs))
            mean_return = float(np.mean(multiplier.finished_returns))
            multiplier.finished_costs.clear()
            multiplier.finished_returns.clear()
            if config.lagrangian:
                multiplier.value = max(0.0, multiplier.value + config.lambda_lr * (mean_cost - config.limit))
            curve.append((self.num_timesteps, mean_return, mean_cost, multiplier.value))

    start = time.perf_counter()
    # One intra-op thread: the networks are small (more threads only add overhead on a busy machine), and the
    # run then does not depend on how many cores the machine has.
    with torch_threads(1):
        model.learn(total_timesteps=config.timesteps, callback=DualStep())
    vec_env.close()
    return LagrangianRun(model, tuple(curve), time.perf_counter() - start, config, dict(ppo_kwargs or {}))


def save_constrained_agent(
    training: LagrangianRun, folder: str | Path, name: str, command: str, episodes: int = 1000, description: str = ""
) -> dict[str, Any]:
    """Write the trained policy as an agent folder in the zoo's format — weights.pt, meta.json (architecture,
    training, evaluation) and learning_curve.csv — and return its meta. The evaluation plays ``episodes`` seeded
    episodes (seed 0) and records the mean return and mean episode cost (empirical) and the share of episodes
    over the limit; ``command`` is the command line that reproduces the agent.

    The Lagrangian constrains the expected cost of the policy PPO trains, which samples its actions; so a policy
    that can sample (a categorical one) is evaluated sampling, as trained, and its greedy (argmax) figures are
    recorded beside. A Gaussian policy's stored network holds its mean only, and is evaluated at the mean."""
    import stable_baselines3 as sb3

    from rlcert.agents.sb3_setup import check_same_actions, sequential_policy
    from rlcert.envs.factory import make_env
    from rlcert.envs.rollout import run

    config = training.config
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    observation_space = make_env(config.env).observation_space
    policy = sequential_policy(training.model, observation_space, name)
    check_same_actions(training.model, policy, np.stack([observation_space.sample() for _ in range(16)]))

    def summary(actions: str) -> dict[str, float]:
        played = run(policy, config.env, episodes, seed=0, actions=actions, progress=False)
        costs = played.costs
        return {
            "mean_return": played.mean_return,
            "stderr_return": played.stderr_return,
            "mean_cost": float(costs.mean()),
            "stderr_cost": float(costs.std(ddof=1) / np.sqrt(len(costs))) if len(costs) > 1 else 0.0,
            "violation_rate": float(np.mean(costs > config.limit)),
        }

    actions = "sampled" if policy.samples_actions else "greedy"
    evaluation = {"episodes": episodes, "seed": 0, "actions": actions, "cost_limit": config.limit}
    evaluation |= summary(actions) | {"evidence": "empirical"}
    if actions == "sampled":
        evaluation["greedy"] = summary("greedy")
    policy.save(folder / "weights.pt", folder / "architecture.json")
    (folder / "architecture.json").unlink()  # meta.json carries the architecture, as in the zoo
    with open(folder / "learning_curve.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timesteps", "mean_return", "mean_cost", "lambda"])
        writer.writerows(training.curve)
    meta = {
        "name": name,
        "description": description,
        "env": config.env,
        "algorithm": "PPO-Lagrangian" if config.lagrangian else "PPO",
        "architecture": policy.architecture(),
        "training": {
            "command": command,
            "library": f"stable-baselines3 {sb3.__version__}",
            "seed": config.seed,
            "timesteps": int(training.model.num_timesteps),
            "cost_limit": config.limit,
            "lagrangian": config.lagrangian,
            "lambda_lr": config.lambda_lr,
            "final_lambda": training.curve[-1][3] if training.curve else 0.0,
            "n_envs": config.n_envs,
            "hyperparameters": training.hyperparameters,
            "wall_time_s": round(training.wall_time_s, 1),
        },
        "evaluation": evaluation,
        "min_score": None,
        "value_range": None,
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta
