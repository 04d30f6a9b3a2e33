"""Train a zoo agent from its recipe with Stable-Baselines3 and write it into the zoo (``rlcert[train]``).

Model selection evaluates the greedy policy every ``eval_every`` steps on 100 episodes (seeds
1000 + k, through the rollout engine) and keeps the best; the score written to ``meta.json`` is a
separate final evaluation on seed 0, so the selection does not inflate it.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from agents.recipes import ZooRecipe
from agents.sb3 import load_sb3_zip
from agents.zoo import ZOO_DIR
from attacks.smoothing import GaussianSmoothing
from envs.factory import make_env
from envs.rollout import run
from envs.wrappers import GaussianFrameNoise

__all__ = ["train_zoo_agent", "evaluate_for_zoo"]


def _schedule(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("lin_"):
        start = float(value[len("lin_") :])
        return lambda progress_remaining: progress_remaining * start
    return value


def evaluate_for_zoo(policy, recipe: ZooRecipe, episodes: int, seed: int) -> dict[str, Any]:
    """Greedy return at sigma = 0, and for noise-trained agents also the smoothed policy's return."""
    plain = run(policy, recipe.env, episodes, seed=seed)
    result: dict[str, Any] = {
        "episodes": episodes,
        "seed": seed,
        "mean_return": plain.mean_return,
        "stderr_return": plain.stderr_return,
        "evidence": "empirical",
    }
    if recipe.noise_sigma > 0:
        smoothed = run(policy, recipe.env, episodes, seed=seed, defense=GaussianSmoothing(recipe.noise_sigma))
        result["smoothed"] = {
            "sigma": recipe.noise_sigma,
            "mean_return": smoothed.mean_return,
            "stderr_return": smoothed.stderr_return,
        }
    return result


def _selection_score(evaluation: dict[str, Any]) -> float:
    return evaluation["smoothed"]["mean_return"] if "smoothed" in evaluation else evaluation["mean_return"]


def train_zoo_agent(
    recipe: ZooRecipe, out_dir: Path | None = None, final_episodes: int = 1000, verbose: bool = True
) -> dict[str, Any]:
    """Train ``recipe``, keep the best evaluated snapshot, write weights.pt + meta.json; return the meta."""
    try:
        import stable_baselines3 as sb3
        from stable_baselines3.common.callbacks import BaseCallback
        from stable_baselines3.common.env_util import make_vec_env
    except ImportError:
        raise RuntimeError("training needs Stable-Baselines3: pip install 'rlcert[train]'") from None

    out_dir = Path(out_dir) if out_dir is not None else ZOO_DIR / recipe.name
    noise = (lambda env: GaussianFrameNoise(env, recipe.noise_sigma)) if recipe.noise_sigma > 0 else None
    vec_env = make_vec_env(lambda: make_env(recipe.env, wrap_raw=noise), n_envs=recipe.n_envs, seed=recipe.seed)
    algorithm = {"dqn": sb3.DQN, "ppo": sb3.PPO}[recipe.algorithm]
    hyper = {k: _schedule(v) for k, v in recipe.hyperparameters.items()}
    model = algorithm(
        "MlpPolicy", vec_env, seed=recipe.seed, verbose=0, policy_kwargs={"net_arch": list(recipe.net_arch)}, **hyper
    )
    workdir = Path(tempfile.mkdtemp(prefix=f"rlcert-train-{recipe.name}-"))
    best: dict[str, Any] = {"score": -np.inf}
    curve: list[dict[str, float]] = []

    def snapshot_policy():
        path = workdir / "snapshot.zip"
        model.save(path)
        return load_sb3_zip(path, name=recipe.name)

    class SelectBest(BaseCallback):
        def __init__(self):
            super().__init__()
            self.next_eval = recipe.eval_every

        def _on_step(self) -> bool:
            if self.num_timesteps >= self.next_eval:
                self.next_eval += recipe.eval_every
                policy = snapshot_policy()
                evaluation = evaluate_for_zoo(policy, recipe, 100, seed=1000 + len(curve))
                score = _selection_score(evaluation)
                curve.append({"timesteps": self.num_timesteps, "score": score})
                if verbose:
                    print(f"  {recipe.name}: {self.num_timesteps:>8d} steps  selection score {score:8.2f}")
                if score >= best["score"]:
                    best.update(score=score, policy=policy, timesteps=self.num_timesteps)
            return True

    start = time.time()
    model.learn(total_timesteps=recipe.timesteps, callback=SelectBest())
    train_seconds = time.time() - start
    policy = best.get("policy") or snapshot_policy()
    evaluation = evaluate_for_zoo(policy, recipe, final_episodes, seed=0)
    out_dir.mkdir(parents=True, exist_ok=True)
    policy.save(out_dir / "weights.pt", workdir / "architecture.json")
    meta = {
        "name": recipe.name,
        "description": recipe.description,
        "env": recipe.env,
        "algorithm": recipe.algorithm.upper(),
        "architecture": policy.architecture(),
        "training": {
            "command": f"rlcert zoo train {recipe.name}",
            "library": f"stable-baselines3 {sb3.__version__}",
            "seed": recipe.seed,
            "timesteps": recipe.timesteps,
            "selected_at_timesteps": best.get("timesteps", recipe.timesteps),
            "noise_sigma": recipe.noise_sigma,
            "net_arch": list(recipe.net_arch),
            "n_envs": recipe.n_envs,
            "hyperparameters": recipe.hyperparameters,
            "wall_time_s": round(train_seconds, 1),
            "selection_curve": curve,
        },
        "evaluation": evaluation,
        "min_score": recipe.min_score,
        "value_range": list(recipe.value_range) if recipe.value_range else None,
    }
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta
