"""Train a zoo agent from its recipe with Stable-Baselines3 and write it into the zoo (``rlcert[train]``).

Model selection evaluates the policy (greedy, or sampled where ``recipe.evaluation_actions`` says so)
every ``eval_every`` steps (``eval_episodes`` episodes on seeds 1000 + k, through the rollout engine) and
keeps the ``finalists`` best snapshots; at the end each finalist is evaluated again (``final_episodes``
episodes on seed 2000, the same episodes for all) and the best of those is picked. The score written to
``meta.json`` is a separate final evaluation on seed 0, so neither the selection nor the re-evaluation
inflates it.

A run lives in a run directory and checkpoints itself (policy and optimizer tensors, step count,
selection state and learning curve; written atomically, read back with ``weights_only=True``), so an
interrupted run — a killed process, or a training budget spread over several sessions — resumes where
its last checkpoint left off (a DQN's replay buffer is not checkpointed: a resumed DQN refills it with
its epsilon-greedy policy for ``learning_starts`` steps before it learns again). A
resumed run continues the same schedules (learning rate and clip range decay over the recipe's total
steps) but is not bit-identical to an uninterrupted one: the training envs restart from fresh
episodes. The learning curve (every finished training episode's raw game return, and every selection
evaluation) is written as CSV and PNG beside the agent.

A recipe with ``init_from`` starts from another zoo agent's weights (a warm start: the noise-trained
twins continue from their plain twin under noise); meta.json names that agent and its weights'
fingerprint, so the run is reproducible from the committed zoo. A warm-started DQN fills its first
replay buffer with its own epsilon-greedy play, as a resumed one does.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.architecture import PolicyLoadError
from agents.recipes import ZooRecipe
from agents.zoo import ZOO_DIR, load_zoo_policy, zoo_entry
from attacks.smoothing import GaussianSmoothing
from envs.factory import make_env, resolve_env_spec
from envs.rollout import run
from reports.errors import OperationError
from reports.plots import plot_learning_curve

__all__ = ["train_zoo_agent", "evaluate_for_zoo", "default_run_dir"]

CHECKPOINT = "checkpoint.pt"


def default_run_dir(name: str) -> Path:
    return Path("runs") / "zoo-train" / name


def _schedule(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("lin_"):
        start = float(value[len("lin_") :])
        return lambda progress_remaining: progress_remaining * start
    return value


def evaluate_for_zoo(
    policy, recipe: ZooRecipe, episodes: int, seed: int, plain: bool = True, max_steps: int | None = None
) -> dict[str, Any]:
    """Return at sigma = 0, and for noise-trained agents also the smoothed policy's return, with actions
    picked as ``recipe.evaluation_actions`` says (episodes cut after ``max_steps`` agent steps if given)."""
    actions = recipe.evaluation_actions
    result: dict[str, Any] = {"episodes": episodes, "seed": seed, "evidence": "empirical", "actions": actions}
    env = resolve_env_spec(recipe.env)
    if max_steps is not None:
        env = dataclasses.replace(env, max_steps=min(max_steps, env.max_steps or max_steps))
    if plain:
        returns = run(policy, env, episodes, seed=seed, actions=actions)
        result.update(mean_return=returns.mean_return, stderr_return=returns.stderr_return,
                      cut_episodes=returns.cut_episodes)  # fmt: skip
    if recipe.noise_sigma > 0:
        smoothed = run(policy, env, episodes, seed=seed, defense=GaussianSmoothing(recipe.noise_sigma), actions=actions)
        result["smoothed"] = {
            "sigma": recipe.noise_sigma,
            "mean_return": smoothed.mean_return,
            "stderr_return": smoothed.stderr_return,
        }
    return result


def _selection_score(evaluation: dict[str, Any]) -> float:
    return evaluation["smoothed"]["mean_return"] if "smoothed" in evaluation else evaluation["mean_return"]


def _recipe_fingerprint(recipe: ZooRecipe) -> str:
    """What a checkpoint must match to be resumed: everything that shapes the training except its length,
    so a recipe whose budget grew continues its run (the learning-rate schedule then stretches to the
    new total from where it stands)."""
    fields = (recipe.name, recipe.env, recipe.algorithm, recipe.hyperparameters, recipe.net_arch,
              recipe.n_envs, recipe.noise_sigma, recipe.seed, recipe.network, recipe.init_from)  # fmt: skip
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _finalists_of_old_checkpoint(resumed: dict[str, Any]) -> list[dict[str, Any]]:
    """Checkpoints written before finalists were kept hold only the single best snapshot."""
    if resumed.get("best_policy") is None:
        return []
    return [{"timesteps": resumed["best_timesteps"], "score": resumed["best_score"], "policy": resumed["best_policy"]}]


def _warm_start(model, recipe: ZooRecipe) -> dict[str, Any]:
    """Load the zoo agent ``recipe.init_from`` into ``model`` (a resumed run overwrites it with its
    checkpoint right after) and say what it was, for meta.json."""
    from agents.sb3_setup import load_sequential_into_model

    try:
        entry = zoo_entry(recipe.init_from)
    except PolicyLoadError:
        raise OperationError(
            f"{recipe.name} starts from the zoo agent {recipe.init_from!r}, which is not in the zoo: "
            f"run 'rlcert zoo train {recipe.init_from}' first"
        ) from None
    source = load_zoo_policy(recipe.init_from)
    load_sequential_into_model(model, source)
    trained = entry.meta.get("training", {})
    return {"agent": recipe.init_from, "weights_fingerprint": source.fingerprint, "timesteps": trained.get("timesteps")}


def _save_atomic(obj: Any, path: Path) -> None:
    partial = path.with_suffix(".partial")
    torch.save(obj, partial)
    os.replace(partial, path)


def _rollout_steps(recipe: ZooRecipe) -> int:
    """Env steps SB3 collects between two checks of the training budget (PPO's n_steps, DQN's train_freq,
    times the number of envs; SB3's defaults where the recipe leaves them out)."""
    key, default = ("n_steps", 2048) if recipe.algorithm == "ppo" else ("train_freq", 4)
    per_env = recipe.hyperparameters.get(key, default)
    return (per_env if isinstance(per_env, int) else 1) * recipe.n_envs


def _load_checkpoint(run_dir: Path, recipe: ZooRecipe) -> dict[str, Any] | None:
    path = run_dir / CHECKPOINT
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("fingerprint") != _recipe_fingerprint(recipe):
        raise OperationError(
            f"{path} belongs to a different recipe or settings than {recipe.name!r}; "
            "remove it (or pass another run directory) to start afresh"
        )
    # SB3 checks its budget between rollouts, so a finished run ends up to one rollout past it.
    if int(state["timesteps"]) >= recipe.timesteps + _rollout_steps(recipe):
        raise OperationError(
            f"{path} has trained {int(state['timesteps'])} steps, more than the recipe's {recipe.timesteps}; "
            "raise the recipe's timesteps or start afresh"
        )
    return state


def write_learning_curve(curve: list[dict[str, Any]], out_dir: Path, title: str) -> None:
    """learning_curve.csv (timesteps, kind, return) and learning_curve.png (training returns, rolling
    mean over 20 episodes, and the selection evaluations)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "learning_curve.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["timesteps", "kind", "return"])
        writer.writeheader()
        writer.writerows(curve)
    plot_learning_curve(curve, out_dir / "learning_curve.png", title)


def train_zoo_agent(
    recipe: ZooRecipe,
    out_dir: Path | None = None,
    final_episodes: int | None = None,
    verbose: bool = True,
    run_dir: Path | None = None,
    stop_after: int | None = None,
    env_processes: bool = False,
) -> dict[str, Any] | None:
    """Train ``recipe`` (resuming from ``run_dir`` when it holds a checkpoint), keep the best evaluated
    snapshot, and write weights.pt + meta.json + the learning curve to ``out_dir``; return the meta.

    ``stop_after`` ends this call after that many more training steps with a checkpoint written and
    returns None: a training budget can be spread over several calls. ``env_processes`` steps the
    training envs in subprocesses (same envs and seeds; faster only with spare cores).
    """
    try:
        import stable_baselines3 as sb3
        from stable_baselines3.common.callbacks import BaseCallback

        from agents.sb3_setup import (
            check_same_actions,
            replay_buffer_class,
            sb3_policy_kwargs,
            sequential_policy,
            training_env,
            use_channels_last,
        )
    except ImportError:
        raise OperationError("training needs Stable-Baselines3: pip install 'rlcert[train]'") from None

    out_dir = Path(out_dir) if out_dir is not None else ZOO_DIR / recipe.name
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(recipe.name)
    run_dir.mkdir(parents=True, exist_ok=True)
    final_episodes = final_episodes or recipe.final_episodes
    checkpoint_every = recipe.checkpoint_every or recipe.eval_every
    resumed = _load_checkpoint(run_dir, recipe)
    done = int(resumed["timesteps"]) if resumed else 0
    # A resumed run seeds its fresh training episodes differently from the first start.
    vec_env = training_env(recipe, seed=recipe.seed + done, processes=env_processes)
    observation_space = make_env(recipe.env).observation_space
    algorithm = {"dqn": sb3.DQN, "ppo": sb3.PPO}[recipe.algorithm]
    policy_name, policy_kwargs = sb3_policy_kwargs(recipe)
    hyper = {k: _schedule(v) for k, v in recipe.hyperparameters.items()} | replay_buffer_class(recipe)
    model = algorithm(policy_name, vec_env, seed=recipe.seed + done, verbose=0, policy_kwargs=policy_kwargs, **hyper)
    if recipe.network == "atari-cnn":
        use_channels_last(model)
    state: dict[str, Any] = {"finalists": [], "curve": [], "train_seconds": 0.0, "budgets": []}
    warm_start = _warm_start(model, recipe) if recipe.init_from else None
    if resumed:
        model.policy.load_state_dict(resumed["policy"])
        model.policy.optimizer.load_state_dict(resumed["optimizer"])
        model.num_timesteps = done
        if recipe.algorithm == "dqn":
            model.q_net_target.load_state_dict(resumed["target"])
        state["train_seconds"] = resumed["train_seconds"]
        state["finalists"] = resumed.get("finalists") or _finalists_of_old_checkpoint(resumed)
        state["curve"] = json.loads(resumed["curve"])
        # Checkpoints written before budgets were recorded leave the history's start unknown (null).
        state["budgets"] = json.loads(resumed.get("budgets", '[{"from_timesteps": 0, "timesteps": null}]'))
        if verbose:
            print(f"  {recipe.name}: resuming at {done} steps from {run_dir / CHECKPOINT}")
    if recipe.algorithm == "dqn" and (resumed or warm_start):
        # A DQN whose weights already play (resumed, or warm-started from a zoo agent) fills its empty
        # replay buffer (not checkpointed) with its own epsilon-greedy play, without gradient steps until
        # it holds learning_starts transitions, rather than fit the first gradient steps to a handful of
        # fresh transitions. SB3 acts uniformly at random while num_timesteps < learning_starts, which
        # would fill a warm start's buffer with play its policy never makes (in Freeway, rewardless):
        # hence learning_starts 0 and the gradient steps held back instead.
        state["refill"] = {"until": done + model.learning_starts, "gradient_steps": model.gradient_steps}
        model.gradient_steps, model.learning_starts = 0, 0

    # A grown budget stretches the learning-rate and clip-range schedules from where the run stands, so
    # reproducing the run needs each budget and the step it took effect at.
    # A budget cut to where a run stands ends it there (recorded: the schedules ran under the old one); a
    # finished run that is only finalized again after overshooting its budget trains no further: none to record.
    if not state["budgets"] or (state["budgets"][-1]["timesteps"] != recipe.timesteps and done <= recipe.timesteps):
        state["budgets"].append({"from_timesteps": done, "timesteps": recipe.timesteps})

    def greedy_policy():
        return sequential_policy(model, observation_space, recipe.name)

    def save_checkpoint(seconds: float) -> None:
        _save_atomic(
            {
                "fingerprint": _recipe_fingerprint(recipe),
                "timesteps": model.num_timesteps,
                "policy": model.policy.state_dict(),
                "optimizer": model.policy.optimizer.state_dict(),
                **({"target": model.q_net_target.state_dict()} if recipe.algorithm == "dqn" else {}),
                "finalists": state["finalists"],
                "curve": json.dumps(state["curve"]),
                "train_seconds": seconds,
                "budgets": json.dumps(state["budgets"]),
            },
            run_dir / CHECKPOINT,
        )

    started = time.time()
    seconds_before = float(state["train_seconds"])

    class SelectAndCheckpoint(BaseCallback):
        def __init__(self):
            super().__init__()
            self.next_eval = (done // recipe.eval_every + 1) * recipe.eval_every
            self.next_checkpoint = (done // checkpoint_every + 1) * checkpoint_every

        def _on_step(self) -> bool:
            if "refill" in state and self.num_timesteps > state["refill"]["until"]:
                self.model.gradient_steps = state.pop("refill")["gradient_steps"]
            for info in self.locals.get("infos", []):
                if "game_episode" in info:
                    state["curve"].append(
                        {"timesteps": self.num_timesteps, "kind": "train", "return": info["game_episode"]["return"]}
                    )
            if self.num_timesteps >= self.next_eval:
                self.next_eval += recipe.eval_every
                policy = greedy_policy()
                evaluations = len([p for p in state["curve"] if p["kind"] == "eval"])
                evaluation = evaluate_for_zoo(
                    policy, recipe, recipe.eval_episodes, seed=1000 + evaluations, plain=recipe.noise_sigma == 0,
                    max_steps=recipe.selection_max_steps,
                )  # fmt: skip
                score = _selection_score(evaluation)
                state["curve"].append({"timesteps": self.num_timesteps, "kind": "eval", "return": score})
                if verbose:
                    print(f"  {recipe.name}: {self.num_timesteps:>8d} steps  selection score {score:8.2f}", flush=True)
                snapshot = {"timesteps": self.num_timesteps, "score": score, "policy": policy.module.state_dict()}
                # Ties go to the later snapshot; the sort is stable, so insert it in front.
                ranked = sorted([snapshot, *state["finalists"]], key=lambda f: -f["score"])
                state["finalists"] = ranked[: recipe.finalists]
            if self.num_timesteps >= self.next_checkpoint:
                self.next_checkpoint += checkpoint_every
                save_checkpoint(seconds_before + time.time() - started)
            return True

    remaining = recipe.timesteps - done
    if stop_after is not None:
        remaining = min(remaining, stop_after)
    if remaining > 0:
        # SB3 anneals its schedules over one learn() call (progress = 1 - steps / (steps at the call's start
        # + the steps it is asked for)), so a run split by stop_after would anneal its learning rate and
        # clip range (DQN: epsilon) to their ends within every piece. They follow the recipe's budget
        # instead, exactly as in one uninterrupted call.
        model._update_current_progress_remaining = lambda num_timesteps, _total: setattr(
            model, "_current_progress_remaining", 1.0 - num_timesteps / recipe.timesteps
        )
        model.learn(total_timesteps=remaining, callback=SelectAndCheckpoint(), reset_num_timesteps=done == 0)
        save_checkpoint(seconds_before + time.time() - started)
    vec_env.close()  # ends the env subprocesses, if any
    if model.num_timesteps < recipe.timesteps:
        if verbose:
            print(f"  {recipe.name}: stopped at {model.num_timesteps} of {recipe.timesteps} steps; run again to resume")
        return None
    train_seconds = float(torch.load(run_dir / CHECKPOINT, map_location="cpu", weights_only=True)["train_seconds"])

    policy = greedy_policy()
    check_same_actions(model, policy, np.stack([observation_space.sample() for _ in range(16)]))
    half = recipe.network == "atari-cnn"  # CNN weights ship in fp16: score exactly what ships

    def load(weights: dict[str, torch.Tensor]) -> None:
        policy.module.load_state_dict({k: v.half().float() for k, v in weights.items()} if half else weights)

    finalists = state["finalists"] or [{"timesteps": model.num_timesteps, "score": None,
                                        "policy": policy.module.state_dict()}]  # fmt: skip
    reevaluated = []
    for finalist in finalists if len(finalists) > 1 else []:
        load(finalist["policy"])
        again = evaluate_for_zoo(policy, recipe, final_episodes, seed=2000, plain=recipe.noise_sigma == 0)
        reevaluated.append({"timesteps": finalist["timesteps"], "selection_score": finalist["score"],
                            "reevaluation_score": _selection_score(again)})  # fmt: skip
        if verbose:
            print(f"  {recipe.name}: finalist at {finalist['timesteps']} steps scores {_selection_score(again):.2f}")
    chosen = finalists[int(np.argmax([f["reevaluation_score"] for f in reevaluated]))] if reevaluated else finalists[0]
    load(chosen["policy"])
    evaluation = evaluate_for_zoo(policy, recipe, final_episodes, seed=0)
    if recipe.evaluation_actions != "greedy":  # the greedy score too: certificates reason about greedy actions
        greedy = run(policy, recipe.env, final_episodes, seed=0)
        evaluation["greedy"] = {"mean_return": greedy.mean_return, "stderr_return": greedy.stderr_return,
                                "cut_episodes": greedy.cut_episodes}  # fmt: skip
    for spec in recipe.also_evaluate:
        extra = run(policy, spec, final_episodes, seed=0, actions=recipe.evaluation_actions)
        evaluation.setdefault("other_envs", {})[spec] = {
            "mean_return": extra.mean_return,
            "stderr_return": extra.stderr_return,
            "episodes": final_episodes,
        }
    out_dir.mkdir(parents=True, exist_ok=True)
    policy.save(out_dir / "weights.pt", run_dir / "architecture.json", half=half)
    write_learning_curve(state["curve"], out_dir, f"{recipe.name}: {recipe.description}")
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
            "timesteps": model.num_timesteps,  # SB3 stops between rollouts: up to one rollout past the budget
            "budget_history": state["budgets"],
            "frames": model.num_timesteps * (4 if recipe.network == "atari-cnn" else 1),
            "initialised_from": warm_start,
            "selected_at_timesteps": chosen["timesteps"],
            "finalists": reevaluated,
            "noise_sigma": recipe.noise_sigma,
            "network": recipe.network,
            "net_arch": list(recipe.net_arch),
            "n_envs": recipe.n_envs,
            "hyperparameters": recipe.hyperparameters,
            "selection_max_steps": recipe.selection_max_steps,
            "wall_time_s": round(train_seconds, 1),
            "selection_curve": [
                {"timesteps": p["timesteps"], "score": p["return"]} for p in state["curve"] if p["kind"] == "eval"
            ],
        },
        "evaluation": evaluation,
        "min_score": recipe.min_score,
        "value_range": list(recipe.value_range) if recipe.value_range else None,
    }
    if recipe.network == "atari-cnn":
        meta["training"]["preprocessing"] = (
            "ALE v5, frameskip 4 with max-pooling, no sticky actions, 30 noop starts, 84x84 grayscale in [0, 1], "
            "4 stacked frames; training only: rewards clipped to their sign, a life loss ends the training episode"
        )
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta
