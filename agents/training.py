"""Train a zoo agent from its recipe with Stable-Baselines3 (``rlcert[train]``).

Where it writes. A run lives in a run directory (default ``runs/zoo-train/NAME`` under the working
directory) that holds its checkpoint; the trained agent (weights.pt, meta.json, learning_curve.csv and
.png) goes to ``out_dir``, by default ``<run dir>/agent``, which loads as it is
(``load_policy("<run dir>/agent/weights.pt")``). The installed zoo (``agents/zoo/NAME``) is written only
when ``out_dir`` names it (``rlcert zoo train NAME --replace-zoo-agent``).

Model selection evaluates the policy (greedy, or sampled where ``recipe.evaluation_actions`` says so)
every ``eval_every`` steps (``eval_episodes`` episodes on seeds 1000 + k, through the rollout engine) and
keeps the ``finalists`` best snapshots; at the end each finalist is evaluated again (``final_episodes``
episodes on seed 2000, the same episodes for all) and the best of those is picked. The score written to
``meta.json`` is a separate final evaluation on seed 0, so neither the selection nor the re-evaluation
inflates it. (Each of these seeds roots its own ``SeedSequence`` in the rollout engine: the streams are
disjoint.)

Checkpoints and resume (``rlcert.agents.training_checkpoint``). A run checkpoints itself at the end of every
segment of ``checkpoint_every`` steps (to the next SB3 rollout boundary), and every segment starts from
exactly what its checkpoint holds, in an uninterrupted run as in a resumed one: training envs restarted
with seeds derived from the recipe's seed and the step, generators reseeded, a DQN's replay buffer kept.
So on the CPU a run resumed from any of its checkpoints, after ``stop_after`` (which ends a call at the
first checkpoint after that many steps), a kill or Ctrl-C, reproduces the uninterrupted run bit for bit:
the same learning curve, selection scores, finalists, chosen snapshot, weights and scores (tested).

What a resume does not reproduce: the steps trained after the last checkpoint are lost (Ctrl-C raises
``TrainingInterrupted``, which says how many; they are trained again identically); a DQN whose replay
buffer is larger than ``REPLAY_CHECKPOINT_BYTES`` (the Atari DQNs: 100k frames, 5.6-11 GB) resumes with
an empty buffer, which it refills with its own epsilon-greedy play for ``learning_starts`` steps before
it learns again, so from there on it differs from an uninterrupted run; a budget changed mid-run
stretches the learning-rate and clip-range schedules from where the run stands (recorded in meta.json);
training on a GPU, with another thread count, or another torch or SB3 version is not bit-identical; and
a checkpoint written before segments were introduced resumes, but without its replay buffer and not
reproducibly. That older scheme reseeded the training envs and the model with ``seed + steps`` on
resume, dropped the DQN's replay buffer and target-update counter, and checkpointed in the middle of
rollouts: a resumed cartpole5-dqn picked its snapshot at 90k steps where the uninterrupted run had
picked 75k. The committed zoo agents were trained under that scheme, so a run today reproduces their
recipe, not their exact weights.

The learning curve (every finished training episode's raw game return, and every selection evaluation)
is written as CSV and PNG beside the agent.

A recipe with ``init_from`` starts from another zoo agent's weights (a warm start: the noise-trained
twins continue from their plain twin under noise); meta.json names that agent and its weights'
fingerprint, so the run is reproducible from the committed zoo. A warm-started DQN fills its first
replay buffer with its own epsilon-greedy play, as a DQN resumed without its buffer does.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlcert.agents.architecture import PolicyLoadError
from rlcert.agents.recipes import ZooRecipe
from rlcert.agents.training_checkpoint import (
    CHECKPOINT,
    begin_segment,
    cut_episodes,
    finalists_of_old_checkpoint,
    load_checkpoint,
    recipe_fingerprint,
    replay_state,
    restore_replay,
    save_atomic,
)
from rlcert.agents.zoo import load_zoo_policy, zoo_entry
from rlcert.attacks.smoothing import GaussianSmoothing
from rlcert.envs.factory import make_env, resolve_env_spec
from rlcert.envs.rollout import run
from rlcert.reports.errors import OperationError
from rlcert.reports.plots import plot_learning_curve

__all__ = [
    "train_zoo_agent",
    "evaluate_for_zoo",
    "default_run_dir",
    "default_agent_dir",
    "TrainingInterrupted",
    "expand_schedule",
]


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a training run. ``checkpoint`` holds its finished work at ``timesteps_saved`` steps
    (None: nothing was saved yet); a rerun with the same run directory resumes from it. Still a
    ``KeyboardInterrupt``, so code that stops on Ctrl-C keeps doing so."""

    def __init__(self, message: str, checkpoint: Path | None, timesteps_saved: int | None):
        super().__init__(message)
        self.checkpoint = checkpoint
        self.timesteps_saved = timesteps_saved


def default_run_dir(name: str) -> Path:
    """Where a run of recipe ``name`` keeps its checkpoint by default (relative to the working directory)."""
    return Path("runs") / "zoo-train" / name


def default_agent_dir(run_dir: Path) -> Path:
    """Where a run writes its trained agent by default: beside its checkpoint, never into the installed zoo."""
    return Path(run_dir) / "agent"


def expand_schedule(value: Any) -> Any:
    """A hyperparameter as SB3 takes it: ``lin_X`` becomes a linear decay from X to 0, anything else stays."""
    if isinstance(value, str) and value.startswith("lin_"):
        start = float(value[len("lin_") :])
        return lambda progress_remaining: progress_remaining * start
    return value


def evaluate_for_zoo(
    policy, recipe: ZooRecipe, episodes: int, seed: int, plain: bool = True, max_steps: int | None = None
) -> dict[str, Any]:
    """Return at sigma = 0, for noise-trained agents also the smoothed policy's return and for adversarially
    trained ones the return under 10-step FramePGD at the training radius, with actions picked as
    ``recipe.evaluation_actions`` says (episodes cut after ``max_steps`` agent steps if given)."""
    actions = recipe.evaluation_actions
    result: dict[str, Any] = {"episodes": episodes, "seed": seed, "evidence": "empirical", "actions": actions}
    env = resolve_env_spec(recipe.env)
    if max_steps is not None:
        env = dataclasses.replace(env, max_steps=min(max_steps, env.max_steps or max_steps))
    if plain:
        returns = run(policy, env, episodes, seed=seed, actions=actions)
        result.update(mean_return=returns.mean_return, stderr_return=returns.stderr_return,
                      cut_episodes=returns.cut_episodes)  # fmt: skip
    if recipe.adversarial_eps > 0:  # the score under the attack it was trained against (10 PGD steps, not 3)
        from rlcert.attacks.pgd import FramePGD

        attack = FramePGD(recipe.adversarial_eps, steps=10, box=env.observation_box)
        attacked = run(policy, env, episodes, seed=seed, actions=actions, attack=attack)
        result["attacked"] = {"attack": repr(attack), "mean_return": attacked.mean_return,
                              "stderr_return": attacked.stderr_return, "episodes": episodes}  # fmt: skip
    if recipe.noise_sigma > 0:
        smoothed = run(policy, env, episodes, seed=seed, defense=GaussianSmoothing(recipe.noise_sigma), actions=actions)
        result["smoothed"] = {
            "sigma": recipe.noise_sigma,
            "mean_return": smoothed.mean_return,
            "stderr_return": smoothed.stderr_return,
        }
    return result


def _selection_score(evaluation: dict[str, Any]) -> float:
    """The smoothed return of a noise-trained agent; the lower of the clean and the attacked return of an
    adversarially trained one (a robust twin must keep both: selecting on the clean score alone picks the
    snapshot least changed by adversarial training); the return otherwise."""
    if "smoothed" in evaluation:
        return evaluation["smoothed"]["mean_return"]
    if "attacked" in evaluation:
        return min(evaluation["mean_return"], evaluation["attacked"]["mean_return"])
    return evaluation["mean_return"]


def _warm_start(model, recipe: ZooRecipe) -> dict[str, Any]:
    """Load the zoo agent ``recipe.init_from`` into ``model`` (a resumed run overwrites it with its
    checkpoint right after) and say what it was, for meta.json."""
    from rlcert.agents.sb3_setup import load_sequential_into_model

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


def write_learning_curve(curve: list[dict[str, Any]], out_dir: Path, recipe: ZooRecipe) -> None:
    """learning_curve.csv (timesteps, kind, return) and learning_curve.png (training returns, rolling
    mean over 20 episodes, and the selection evaluations, named by what ``recipe`` selects on)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "learning_curve.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["timesteps", "kind", "return"])
        writer.writeheader()
        writer.writerows(curve)
    selected_on = recipe.evaluation_actions
    if recipe.noise_sigma > 0:
        selected_on = f"smoothed, sigma {recipe.noise_sigma:g}"
    elif recipe.adversarial_eps > 0:
        selected_on = "lower of clean and attacked"
    plot_learning_curve(curve, out_dir / "learning_curve.png", f"{recipe.name}: {recipe.description}",
                        eval_label=f"selection evaluation ({selected_on})")  # fmt: skip


def _close_quietly(vec_env) -> None:
    """Close training envs after Ctrl-C, which may already have ended their subprocesses."""
    try:
        vec_env.close()
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass  # the subprocesses stopped on the same Ctrl-C


def _interrupted(path: Path, saved: int | None, reached: int, training_done: bool) -> TrainingInterrupted:
    if saved is None:
        message = f"interrupted at {reached} steps, before the first checkpoint: nothing is saved"
    elif training_done:
        message = f"interrupted in the final evaluation; {path} holds the finished training ({saved} steps)"
    else:
        message = (
            f"interrupted at {reached} steps; {path} holds the run at {saved} steps "
            f"(the {max(reached - saved, 0)} steps since are lost)"
        )
    return TrainingInterrupted(message, path if saved is not None else None, saved)


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

    ``run_dir`` defaults to ``runs/zoo-train/NAME`` and ``out_dir`` to ``<run_dir>/agent``: pass
    ``ZOO_DIR / NAME`` to replace the installed zoo agent. ``stop_after`` ends this call at the first
    checkpoint after that many more training steps and returns None: a training budget can be spread over
    several calls. ``env_processes`` steps the training envs in subprocesses (same envs and seeds; faster
    only with spare cores).

    Raises:
        TrainingInterrupted: on Ctrl-C, saying what the run's checkpoint holds and what was lost.
    """
    try:
        import stable_baselines3 as sb3
        from stable_baselines3.common.callbacks import BaseCallback

        from rlcert.agents.sb3_setup import (
            model_scores,
            replay_buffer_class,
            sb3_policy_kwargs,
            sequential_policy,
            training_env,
            use_channels_last,
        )
    except ImportError:
        raise OperationError("training needs Stable-Baselines3: pip install 'rlcert[train]'") from None

    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(recipe.name)
    out_dir = Path(out_dir) if out_dir is not None else default_agent_dir(run_dir)
    for directory in (run_dir, out_dir):  # both before any training: a run must not fail at its very end
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OperationError(f"cannot create the directory {str(directory)!r}: {exc.strerror}") from None
    final_episodes = final_episodes or recipe.final_episodes
    checkpoint_every = recipe.checkpoint_every or recipe.eval_every
    checkpoint_path = run_dir / CHECKPOINT
    resumed = load_checkpoint(run_dir, recipe)
    done = int(resumed["timesteps"]) if resumed else 0
    vec_env = training_env(recipe, seed=recipe.seed, processes=env_processes)
    observation_space = make_env(recipe.env).observation_space
    algorithm = {"dqn": sb3.DQN, "ppo": sb3.PPO}[recipe.algorithm]
    policy_name, policy_kwargs = sb3_policy_kwargs(recipe)
    hyper = {k: expand_schedule(v) for k, v in recipe.hyperparameters.items()} | replay_buffer_class(recipe)
    if recipe.adversarial_eps > 0 and recipe.adversarial_method == "sa-regularizer":
        from rlcert.agents.sa_dqn import StateAdversarialDQN

        algorithm = functools.partial(
            StateAdversarialDQN, sa_eps=recipe.adversarial_eps, sa_steps=recipe.adversarial_steps,
            sa_kappa=recipe.sa_kappa, sa_hinge=recipe.sa_hinge, sa_eps_ramp=recipe.adversarial_ramp,
            sa_box=resolve_env_spec(recipe.env).observation_box,
        )  # fmt: skip
    model = algorithm(policy_name, vec_env, seed=recipe.seed, verbose=0, policy_kwargs=policy_kwargs, **hyper)
    if recipe.network == "atari-cnn":
        use_channels_last(model)
    if recipe.adversarial_eps > 0 and recipe.adversarial_method == "pgd":
        vec_env.scores = model_scores(model)
    dqn = recipe.algorithm == "dqn"
    state: dict[str, Any] = {"finalists": [], "curve": [], "train_seconds": 0.0, "budgets": [], "refill_until": None}
    warm_start = _warm_start(model, recipe) if recipe.init_from else None
    if warm_start and dqn:
        state["refill_until"] = model.learning_starts
    if resumed:
        model.policy.load_state_dict(resumed["policy"])  # a DQN's target network included
        model.policy.optimizer.load_state_dict(resumed["optimizer"])
        if "target" in resumed:  # an older checkpoint's separate target network
            model.q_net_target.load_state_dict(resumed["target"])
        model.num_timesteps = done
        state["train_seconds"] = resumed["train_seconds"]
        state["finalists"] = resumed.get("finalists") or finalists_of_old_checkpoint(resumed)
        state["curve"] = json.loads(resumed["curve"])
        # Checkpoints written before budgets were recorded leave the history's start unknown (null).
        state["budgets"] = json.loads(resumed.get("budgets", '[{"from_timesteps": 0, "timesteps": null}]'))
        state["refill_until"] = resumed.get("refill_until")
        if dqn and resumed.get("replay_buffer") is not None:
            restore_replay(model.replay_buffer, resumed["replay_buffer"], checkpoint_path)
        elif dqn:  # a buffer too large to checkpoint: refill it before learning again
            state["refill_until"] = done + model.learning_starts
        if verbose:
            print(f"  {recipe.name}: resuming at {done} steps from {checkpoint_path}")
    if dqn and state["refill_until"] is not None and done <= state["refill_until"]:
        # A DQN whose weights already play (warm-started from a zoo agent, or resumed without its replay
        # buffer) fills its empty buffer with its own epsilon-greedy play, without gradient steps until it
        # holds learning_starts transitions, rather than fit the first gradient steps to a handful of fresh
        # transitions. SB3 acts uniformly at random while num_timesteps < learning_starts, which would fill
        # a warm start's buffer with play its policy never makes (in Freeway, rewardless): hence
        # learning_starts 0 and the gradient steps held back instead.
        state["refill"] = {"until": state["refill_until"], "gradient_steps": model.gradient_steps}
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
        save_atomic(
            {
                "fingerprint": recipe_fingerprint(recipe),
                "timesteps": model.num_timesteps,
                "policy": model.policy.state_dict(),
                "optimizer": model.policy.optimizer.state_dict(),
                "finalists": state["finalists"],
                "curve": json.dumps(state["curve"]),
                "train_seconds": seconds,
                "budgets": json.dumps(state["budgets"]),
                "replay_buffer": replay_state(model.replay_buffer) if dqn else None,
                "refill_until": state["refill_until"],
            },
            checkpoint_path,
        )

    started = time.time()
    seconds_before = float(state["train_seconds"])

    class SelectAndRecord(BaseCallback):
        def __init__(self):
            super().__init__()
            self.next_eval = (model.num_timesteps // recipe.eval_every + 1) * recipe.eval_every

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
                    parts, attacked = "", evaluation.get("attacked")
                    if attacked:
                        parts = f" (clean {evaluation['mean_return']:.2f}, attacked {attacked['mean_return']:.2f})"
                    print(f"  {recipe.name}: {self.num_timesteps:>8d} steps  selection score {score:8.2f}{parts}",
                          flush=True)  # fmt: skip
                snapshot = {"timesteps": self.num_timesteps, "score": score, "policy": policy.module.state_dict()}
                # Ties go to the later snapshot; the sort is stable, so insert it in front.
                ranked = sorted([snapshot, *state["finalists"]], key=lambda f: -f["score"])
                state["finalists"] = ranked[: recipe.finalists]
            return True

    # SB3 anneals its schedules over one learn() call (progress = 1 - steps / (steps at the call's start + the
    # steps it is asked for)), so every segment would anneal its learning rate and clip range (DQN: epsilon)
    # to their ends. They follow the recipe's budget instead, exactly as in one uninterrupted call.
    model._update_current_progress_remaining = lambda num_timesteps, _total: setattr(
        model, "_current_progress_remaining", 1.0 - num_timesteps / recipe.timesteps
    )
    saved = done if resumed else None
    until = recipe.timesteps if stop_after is None else min(recipe.timesteps, done + stop_after)
    try:
        while model.num_timesteps < until:
            end = min((model.num_timesteps // checkpoint_every + 1) * checkpoint_every, recipe.timesteps)
            if vec_env is None:  # its seed only seeds the envs' own action spaces, which training never samples
                vec_env = training_env(recipe, seed=recipe.seed, processes=env_processes, model=model)
            begin_segment(model, vec_env, recipe)
            steps = end - model.num_timesteps
            model.learn(total_timesteps=steps, callback=SelectAndRecord(), reset_num_timesteps=False)
            vec_env.close()  # ends the env subprocesses, if any
            vec_env = None
            if dqn:
                cut_episodes(model.replay_buffer)
            state["train_seconds"] = seconds_before + time.time() - started
            save_checkpoint(state["train_seconds"])
            saved = model.num_timesteps
    except KeyboardInterrupt:
        if vec_env is not None:
            _close_quietly(vec_env)
        raise _interrupted(checkpoint_path, saved, model.num_timesteps, training_done=False) from None
    if vec_env is not None:
        vec_env.close()
    if model.num_timesteps < recipe.timesteps:
        if verbose:
            print(f"  {recipe.name}: stopped at {model.num_timesteps} of {recipe.timesteps} steps; run again to resume")
        return None
    try:
        return _finalize(model, recipe, state, out_dir, run_dir, final_episodes, warm_start, checkpoint_every, verbose)
    except KeyboardInterrupt:
        raise _interrupted(checkpoint_path, saved, model.num_timesteps, training_done=True) from None


def _sa_settings(recipe: ZooRecipe) -> dict[str, Any]:
    if recipe.adversarial_method == "pgd":
        return {"adversarial_method": "pgd"}
    return {"adversarial_method": recipe.adversarial_method, "sa_kappa": recipe.sa_kappa,
            "sa_hinge": recipe.sa_hinge, "adversarial_ramp": recipe.adversarial_ramp}  # fmt: skip


def _finalize(model, recipe: ZooRecipe, state: dict[str, Any], out_dir: Path, run_dir: Path, final_episodes: int,
              warm_start: dict[str, Any] | None, checkpoint_every: int, verbose: bool) -> dict[str, Any]:  # fmt: skip
    """Pick the snapshot among the finalists, evaluate it, and write the agent and its meta.json."""
    import stable_baselines3 as sb3

    from rlcert.agents.sb3_setup import check_same_actions, sequential_policy

    observation_space = make_env(recipe.env).observation_space
    policy = sequential_policy(model, observation_space, recipe.name)
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
    if warm_start is not None and policy.fingerprint == warm_start["weights_fingerprint"]:
        # A warm start fills its buffer before any gradient step, and a run that only got worse afterwards would
        # otherwise ship its starting agent, unchanged, under a new name (freeway-dqn-pgd's first run did).
        raise OperationError(
            f"{recipe.name}: its best snapshot (at {chosen['timesteps']} steps) is the starting agent "
            f"{recipe.init_from} unchanged: no training step improved on it, so nothing is written"
        )
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
    write_learning_curve(state["curve"], out_dir, recipe)
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
            "checkpoint_every": checkpoint_every,  # segment boundaries: where training envs restart
            "frames": model.num_timesteps * (4 if recipe.network == "atari-cnn" else 1),
            "initialised_from": warm_start,
            "selected_at_timesteps": chosen["timesteps"],
            "finalists": reevaluated,
            "noise_sigma": recipe.noise_sigma,
            "adversarial_eps": recipe.adversarial_eps,
            "adversarial_steps": recipe.adversarial_steps if recipe.adversarial_eps > 0 else None,
            **(_sa_settings(recipe) if recipe.adversarial_eps > 0 else {}),
            "network": recipe.network,
            "net_arch": list(recipe.net_arch),
            "n_envs": recipe.n_envs,
            "hyperparameters": recipe.hyperparameters,
            "selection_max_steps": recipe.selection_max_steps,
            "wall_time_s": round(float(state["train_seconds"]), 1),
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
