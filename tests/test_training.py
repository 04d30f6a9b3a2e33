import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rlcert.agents.loading import load_policy
from rlcert.agents.recipes import ZooRecipe
from rlcert.agents.training import evaluate_for_zoo, train_zoo_agent
from rlcert.agents.zoo import ZOO_DIR
from rlcert.envs.rollout import run

pytest.importorskip("stable_baselines3")


@pytest.mark.parametrize("algorithm, sigma", [("dqn", 0.1), ("ppo", 0.0)])
def test_a_short_training_run_writes_a_loadable_zoo_entry(tmp_path, algorithm, sigma):
    hyper = {"learning_starts": 50} if algorithm == "dqn" else {"n_steps": 64, "batch_size": 64}
    tiny = ZooRecipe(
        "tiny",
        "cartpole5?max_steps=30",
        algorithm,
        256,
        hyper,
        (8,),
        noise_sigma=sigma,
        eval_every=128,
        min_score=0,
        n_envs=2 if algorithm == "ppo" else 1,
    )
    meta = train_zoo_agent(
        tiny, tmp_path, final_episodes=20, verbose=False, run_dir=tmp_path / "run", env_processes=algorithm == "ppo"
    )
    assert json.loads((tmp_path / "meta.json").read_text()) == meta
    assert [point["timesteps"] for point in meta["training"]["selection_curve"]] == [128, 256]
    assert meta["evaluation"]["episodes"] == 20 and ("smoothed" in meta["evaluation"]) == (sigma > 0)
    policy = load_policy(tmp_path / "weights.pt", architecture=_arch(tmp_path, meta))
    assert policy.observation_space.shape == (5, 4)


def test_an_interrupted_run_resumes_from_its_checkpoint_and_logs_a_learning_curve(tmp_path):
    tiny = ZooRecipe("tiny", "cartpole5?max_steps=30", "ppo", 256, {"n_steps": 64, "batch_size": 64}, (8,),
                     eval_every=128, eval_episodes=5, final_episodes=10, min_score=0)  # fmt: skip
    run_dir = tmp_path / "run"
    assert train_zoo_agent(tiny, tmp_path, verbose=False, run_dir=run_dir, stop_after=128) is None
    assert (run_dir / "checkpoint.pt").exists() and not (tmp_path / "meta.json").exists()
    meta = train_zoo_agent(tiny, tmp_path, verbose=False, run_dir=run_dir)
    assert [point["timesteps"] for point in meta["training"]["selection_curve"]] == [128, 256]
    assert meta["evaluation"]["episodes"] == 10
    with open(tmp_path / "learning_curve.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["kind"] for row in rows} == {"train", "eval"} and (tmp_path / "learning_curve.png").stat().st_size
    # CartPole pays 1 per step and these episodes last at most 30 steps: 256 steps finish >= 8 of them.
    train = [float(row["return"]) for row in rows if row["kind"] == "train"]
    assert len(train) >= 8 and all(1 <= value <= 30 for value in train)
    other = ZooRecipe("tiny", "cartpole5?max_steps=30", "ppo", 256, {"n_steps": 32, "batch_size": 32}, (8,))
    with pytest.raises(RuntimeError, match="belongs to a different recipe"):
        train_zoo_agent(other, tmp_path, verbose=False, run_dir=run_dir)
    shorter = ZooRecipe("tiny", "cartpole5?max_steps=30", "ppo", 128, {"n_steps": 64, "batch_size": 64}, (8,))
    with pytest.raises(RuntimeError, match="more than the recipe's 128"):
        train_zoo_agent(shorter, tmp_path, verbose=False, run_dir=run_dir)
    # A run that stopped within one rollout (64 steps) past a budget is finished: a rerun only finalizes.
    overshot = ZooRecipe("tiny", "cartpole5?max_steps=30", "ppo", 200, {"n_steps": 64, "batch_size": 64}, (8,),
                         eval_every=128, eval_episodes=5, final_episodes=10, min_score=0)  # fmt: skip
    finalized = train_zoo_agent(overshot, tmp_path, verbose=False, run_dir=run_dir)["training"]
    assert finalized["timesteps"] == 256 and finalized["budget_history"] == [{"from_timesteps": 0, "timesteps": 256}]
    assert finalized["frames"] == 256
    # A longer budget continues the same run from its 256 steps.
    longer = ZooRecipe("tiny", "cartpole5?max_steps=30", "ppo", 384, {"n_steps": 64, "batch_size": 64}, (8,),
                       eval_every=128, eval_episodes=5, final_episodes=10, min_score=0)  # fmt: skip
    meta = train_zoo_agent(longer, tmp_path, verbose=False, run_dir=run_dir)
    assert [point["timesteps"] for point in meta["training"]["selection_curve"]] == [128, 256, 384]
    assert meta["training"]["budget_history"] == [
        {"from_timesteps": 0, "timesteps": 256},
        {"from_timesteps": 256, "timesteps": 384},
    ]


def test_a_budget_cut_to_where_a_run_stands_ends_it_there_and_is_recorded(tmp_path):
    def tiny(budget):
        return ZooRecipe("tiny", "cartpole5?max_steps=30", "ppo", budget, {"n_steps": 64, "batch_size": 64}, (8,),
                         eval_every=128, eval_episodes=2, final_episodes=4, min_score=0)  # fmt: skip

    run_dir = tmp_path / "run"
    train_zoo_agent(tiny(512), tmp_path, verbose=False, run_dir=run_dir, stop_after=128)
    training = train_zoo_agent(tiny(128), tmp_path, verbose=False, run_dir=run_dir)["training"]
    assert training["timesteps"] == 128 and [p["timesteps"] for p in training["selection_curve"]] == [128]
    assert training["budget_history"] == [
        {"from_timesteps": 0, "timesteps": 512},
        {"from_timesteps": 128, "timesteps": 128},
    ]


def _arch(tmp_path, meta):
    path = tmp_path / "architecture.json"
    path.write_text(json.dumps(meta["architecture"]))
    return path


def test_finalists_are_evaluated_again_and_the_best_of_them_is_picked(tmp_path):
    tiny = ZooRecipe("tiny", "cartpole5?max_steps=30", "ppo", 384, {"n_steps": 64, "batch_size": 64}, (8,),
                     eval_every=128, eval_episodes=3, final_episodes=10, finalists=2, min_score=0)  # fmt: skip
    meta = train_zoo_agent(tiny, tmp_path, verbose=False, run_dir=tmp_path / "run")
    selections = {p["timesteps"]: p["score"] for p in meta["training"]["selection_curve"]}
    finalists = meta["training"]["finalists"]
    assert len(finalists) == 2 and len({f["timesteps"] for f in finalists}) == 2
    # The two best selection scores (ties to the later snapshot) are the finalists ...
    ranked = sorted(selections, key=lambda t: (-selections[t], -t))[:2]
    assert [f["timesteps"] for f in finalists] == ranked
    assert all(f["selection_score"] == selections[f["timesteps"]] for f in finalists)
    # ... and the one picked has the best re-evaluation.
    best = max(finalists, key=lambda f: f["reevaluation_score"])
    assert meta["training"]["selected_at_timesteps"] == best["timesteps"]
    with pytest.raises(ValueError, match="finalists must be at least 1"):
        ZooRecipe("tiny", "cartpole5", "ppo", 10, finalists=0)


def test_a_warm_started_run_begins_from_its_zoo_agent_and_says_so(tmp_path):
    # Learning rate 0: the best snapshot is exactly the zoo agent, so the run refuses to ship it under a new name
    # (the message proves the warm start loaded those very weights).
    frozen = ZooRecipe("warm", "CartPole-v1?max_steps=100", "ppo", 64, {"n_steps": 32, "batch_size": 32,
                       "learning_rate": 0.0}, (64, 64), n_envs=2, eval_every=64, eval_episodes=2, final_episodes=4,
                       init_from="cartpole-ppo")  # fmt: skip
    with pytest.raises(RuntimeError, match="is the starting agent cartpole-ppo unchanged: no training step improved"):
        train_zoo_agent(frozen, tmp_path / "frozen", verbose=False, run_dir=tmp_path / "frozen-run")
    assert not (tmp_path / "frozen" / "weights.pt").exists()
    # A tiny learning rate: the weights move, the meta says where they started, and the agent still balances.
    # (The selection evaluation at 128 steps comes after the first update, at 64.)
    warm = ZooRecipe("warm", "CartPole-v1?max_steps=100", "ppo", 128, {"n_steps": 32, "batch_size": 32,
                     "learning_rate": 1e-7}, (64, 64), n_envs=2, eval_every=128, eval_episodes=2, final_episodes=4,
                     init_from="cartpole-ppo")  # fmt: skip
    meta = train_zoo_agent(warm, tmp_path, verbose=False, run_dir=tmp_path / "run")
    source = load_policy("zoo:cartpole-ppo")
    assert meta["training"]["initialised_from"] == {
        "agent": "cartpole-ppo",
        "weights_fingerprint": source.fingerprint,
        "timesteps": json.loads((ZOO_DIR / "cartpole-ppo" / "meta.json").read_text())["training"]["timesteps"],
    }
    assert load_policy(tmp_path / "weights.pt", architecture=_arch(tmp_path, meta)).fingerprint != source.fingerprint
    assert meta["evaluation"]["mean_return"] == 100.0
    missing = ZooRecipe("cold", "CartPole-v1", "ppo", 64, init_from="no-such-agent")
    with pytest.raises(RuntimeError, match="run 'rlcert zoo train no-such-agent' first"):
        train_zoo_agent(missing, tmp_path / "cold", verbose=False, run_dir=tmp_path / "cold-run")


def test_a_resumed_dqn_whose_buffer_was_too_large_to_keep_refills_it_before_it_learns_again(tmp_path, monkeypatch):
    import rlcert.agents.training_checkpoint as training_checkpoint

    monkeypatch.setattr(training_checkpoint, "REPLAY_CHECKPOINT_BYTES", 0)  # as an Atari DQN's 100k frames
    tiny = ZooRecipe("tiny", "cartpole5?max_steps=30", "dqn", 384, {"learning_starts": 64, "train_freq": 1}, (8,),
                     eval_every=64, eval_episodes=1, final_episodes=2, min_score=0)  # fmt: skip
    run_dir = tmp_path / "run"
    train_zoo_agent(tiny, tmp_path, verbose=False, run_dir=run_dir, stop_after=128)
    before = torch.load(run_dir / "checkpoint.pt", weights_only=True)["policy"]
    train_zoo_agent(tiny, tmp_path, verbose=False, run_dir=run_dir, stop_after=64)  # the refill: no learning
    refilled = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert refilled["timesteps"] == 192
    assert all(torch.equal(before[key], refilled["policy"][key]) for key in before if key.startswith("q_net."))
    train_zoo_agent(tiny, tmp_path, verbose=False, run_dir=run_dir, stop_after=128)  # 64 to refill, then learns
    after = torch.load(run_dir / "checkpoint.pt", weights_only=True)["policy"]
    assert not all(torch.equal(before[key], after[key]) for key in before if key.startswith("q_net."))


def test_a_warm_started_or_resumed_dqn_fills_its_buffer_with_its_own_play(tmp_path, monkeypatch):
    # A warm start from the balancing zoo DQN that never explores: every training episode of the first
    # fill (steps 0-100) and of the refill after resuming (100-200; a buffer too large to checkpoint, as an
    # Atari DQN's) must balance for all 50 steps; SB3's uniformly random warm-up actions would fall in ~20.
    # No gradient step before 100.
    import rlcert.agents.training_checkpoint as training_checkpoint

    monkeypatch.setattr(training_checkpoint, "REPLAY_CHECKPOINT_BYTES", 0)
    hyper = {"learning_starts": 100, "train_freq": 1, "learning_rate": 1e-5, "exploration_initial_eps": 0.0,
             "exploration_final_eps": 0.0}  # fmt: skip
    warm = ZooRecipe("warm", "cartpole5?max_steps=50", "dqn", 1000, hyper, (256, 256), eval_every=100,
                     eval_episodes=1, final_episodes=2, init_from="cartpole5-dqn")  # fmt: skip
    run_dir = tmp_path / "run"
    train_zoo_agent(warm, tmp_path, verbose=False, run_dir=run_dir, stop_after=100)
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["optimizer"]["state"] == {}
    train_zoo_agent(warm, tmp_path, verbose=False, run_dir=run_dir, stop_after=200)  # refills 100-200, learns
    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert checkpoint["optimizer"]["state"] != {}
    curve = [p for p in json.loads(checkpoint["curve"]) if p["kind"] == "train"]
    fills = [p["return"] for p in curve if p["timesteps"] <= 200]
    assert len(fills) >= 4 and all(value == 50.0 for value in fills)


def test_selection_episodes_are_cut_where_the_recipe_says_and_the_final_evaluation_is_not(tmp_path):
    tiny = ZooRecipe("tiny", "cartpole5?max_steps=30", "ppo", 256, {"n_steps": 64, "batch_size": 64}, (8,),
                     eval_every=128, eval_episodes=3, final_episodes=10, selection_max_steps=5)  # fmt: skip
    meta = train_zoo_agent(tiny, tmp_path, verbose=False, run_dir=tmp_path / "run")
    assert meta["training"]["selection_max_steps"] == 5
    assert all(point["score"] == 5.0 for point in meta["training"]["selection_curve"])  # CartPole pays 1 per step
    assert meta["evaluation"]["mean_return"] > 5.0  # whole (30-step) episodes
    policy = load_policy(tmp_path / "weights.pt", architecture=_arch(tmp_path, meta))
    # A cap above the env's own limit leaves that limit in place.
    capped = evaluate_for_zoo(policy, tiny, 3, seed=0, max_steps=1000)
    assert capped["mean_return"] <= 30.0
    # Recorded: how many of the episodes the step limit ended (those that reached 30 steps).
    assert capped["cut_episodes"] == sum(r == 30.0 for r in run(policy, tiny.env, 3, seed=0).returns)
    with pytest.raises(ValueError, match="selection_max_steps must be a positive"):
        ZooRecipe("tiny", "cartpole5", "ppo", 10, selection_max_steps=0)


def test_a_run_split_by_stop_after_anneals_its_learning_rate_over_the_whole_budget(tmp_path):
    # lr = 1e-3 * (1 - steps / 512), set by SB3 at each update from the steps taken so far; a piece of
    # 128 steps must leave it where an unsplit run has it at 128 steps, not annealed to 0 within the piece.
    tiny = ZooRecipe("tiny", "cartpole5?max_steps=30", "ppo", 512,
                     {"n_steps": 64, "batch_size": 64, "learning_rate": "lin_1e-3"}, (8,), n_envs=1,
                     eval_every=10_000, checkpoint_every=128, min_score=0)  # fmt: skip
    run_dir = tmp_path / "run"

    def learning_rate() -> float:
        checkpoint = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
        return checkpoint["optimizer"]["param_groups"][0]["lr"]

    train_zoo_agent(tiny, tmp_path, verbose=False, run_dir=run_dir, stop_after=128)
    assert learning_rate() == pytest.approx(1e-3 * (1 - 128 / 512))
    train_zoo_agent(tiny, tmp_path, verbose=False, run_dir=run_dir, stop_after=128)
    assert learning_rate() == pytest.approx(1e-3 * (1 - 256 / 512))


def test_by_default_the_agent_goes_to_the_run_directory_and_never_into_the_zoo(tmp_path, monkeypatch):
    # The installed zoo is written only when asked (rlcert zoo train NAME --replace-zoo-agent): a stand-in
    # zoo here, so that a regression writes into tmp_path, not into the package.
    import rlcert.agents.training as training

    monkeypatch.setattr(training, "ZOO_DIR", tmp_path / "zoo", raising=False)  # older code wrote there
    monkeypatch.chdir(tmp_path)
    tiny = ZooRecipe("tiny", "cartpole5?max_steps=30", "ppo", 64, {"n_steps": 64, "batch_size": 64}, (8,),
                     eval_every=64, eval_episodes=2, final_episodes=2, min_score=0)  # fmt: skip
    train_zoo_agent(tiny, verbose=False)
    agent = tmp_path / "runs" / "zoo-train" / "tiny" / "agent"
    assert not (tmp_path / "zoo").exists() and not (ZOO_DIR / "tiny").exists()
    assert {"weights.pt", "meta.json", "learning_curve.csv"} <= {p.name for p in agent.iterdir()}
    assert training.default_agent_dir(training.default_run_dir("tiny")) == Path("runs/zoo-train/tiny/agent")
    # The folder loads as it is: the architecture is read from the meta.json beside the weights.
    assert load_policy(agent / "weights.pt").observation_space.shape == (5, 4)


def _tiny_for_resume(algorithm: str) -> ZooRecipe:
    """Three checkpointed segments of 128 steps; a DQN target update (every 50 calls) that the boundaries cut
    and a replay buffer that outlives them, a PPO with two envs and a decaying learning rate."""
    if algorithm == "dqn":
        hyper = {"learning_starts": 64, "train_freq": 4, "gradient_steps": 2, "target_update_interval": 50,
                 "buffer_size": 1000, "exploration_fraction": 0.5}  # fmt: skip
        return ZooRecipe("tiny", "cartpole5?max_steps=30", "dqn", 384, hyper, (8,), eval_every=128, eval_episodes=3,
                         final_episodes=4, finalists=2, min_score=0)  # fmt: skip
    hyper = {"n_steps": 32, "batch_size": 32, "n_epochs": 2, "learning_rate": "lin_1e-3"}
    return ZooRecipe("tiny", "cartpole5?max_steps=30", "ppo", 384, hyper, (8,), n_envs=2, eval_every=128,
                     eval_episodes=3, final_episodes=4, finalists=2, min_score=0)  # fmt: skip


def _checkpoint(run_dir):
    return torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)


def _same_tensors(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same_tensors(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_tensors(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("algorithm", ["dqn", "ppo"])
def test_a_run_interrupted_and_resumed_reproduces_the_uninterrupted_run_on_the_cpu(tmp_path, monkeypatch, algorithm):
    import rlcert.agents.training as training

    tiny = _tiny_for_resume(algorithm)
    whole = train_zoo_agent(tiny, tmp_path / "a", verbose=False, run_dir=tmp_path / "run-a")
    run_dir = tmp_path / "run-b"
    assert train_zoo_agent(tiny, tmp_path / "b", verbose=False, run_dir=run_dir, stop_after=100) is None
    assert _checkpoint(run_dir)["timesteps"] == 128  # stop_after ends at the next checkpoint
    # Ctrl-C in the middle of the next segment (at its selection evaluation): the checkpoint at 128 stays.
    evaluate = training.evaluate_for_zoo

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "evaluate_for_zoo", interrupted)
    with pytest.raises(training.TrainingInterrupted, match="holds the run at 128 steps") as stop:
        train_zoo_agent(tiny, tmp_path / "b", verbose=False, run_dir=run_dir)
    assert stop.value.checkpoint == run_dir / "checkpoint.pt" and stop.value.timesteps_saved == 128
    monkeypatch.setattr(training, "evaluate_for_zoo", evaluate)
    resumed = train_zoo_agent(tiny, tmp_path / "b", verbose=False, run_dir=run_dir)
    # Bit for bit: the learning curve, every selection score, the finalists, the snapshot picked, the weights
    # and the optimizer, the replay buffer.
    for key in ("timesteps", "selection_curve", "finalists", "selected_at_timesteps"):
        assert resumed["training"][key] == whole["training"][key], key
    assert resumed["evaluation"] == whole["evaluation"]
    a, b = _checkpoint(tmp_path / "run-a"), _checkpoint(run_dir)
    assert json.loads(a["curve"]) == json.loads(b["curve"])
    for key in ("policy", "optimizer", "finalists", "replay_buffer"):
        assert _same_tensors(a[key], b[key]), key
    assert (a["replay_buffer"] is None) == (algorithm == "ppo")
    weights = [torch.load(tmp_path / side / "weights.pt", weights_only=True) for side in ("a", "b")]
    assert _same_tensors(*weights)


def test_ctrl_c_before_the_first_checkpoint_says_nothing_is_saved(tmp_path, monkeypatch):
    import rlcert.agents.training as training

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "evaluate_for_zoo", interrupted)
    tiny = ZooRecipe("tiny", "cartpole5?max_steps=30", "ppo", 128, {"n_steps": 64, "batch_size": 64}, (8,),
                     eval_every=64, min_score=0)  # fmt: skip
    with pytest.raises(training.TrainingInterrupted, match="before the first checkpoint: nothing is saved") as stop:
        train_zoo_agent(tiny, tmp_path, verbose=False, run_dir=tmp_path / "run")
    assert stop.value.checkpoint is None and isinstance(stop.value, KeyboardInterrupt)


@pytest.mark.parametrize("algorithm", ["ppo", "dqn"])
def test_an_adversarially_trained_run_trains_on_attacked_frames_and_records_its_attacked_score(tmp_path, algorithm):
    from rlcert.agents.sb3_setup import AdversarialObservations, training_env

    hyper = {"learning_starts": 50} if algorithm == "dqn" else {"n_steps": 64, "batch_size": 64}
    recipe = ZooRecipe("adv", "cartpole5?max_steps=30", algorithm, 128, hyper, (8,), eval_every=128, min_score=0,
                       adversarial_eps=0.05, n_envs=2 if algorithm == "ppo" else 1)  # fmt: skip
    meta = train_zoo_agent(recipe, tmp_path, final_episodes=4, verbose=False, run_dir=tmp_path / "run")
    attacked = meta["evaluation"]["attacked"]
    assert attacked["episodes"] == 4 and "FramePGD(eps=0.05, steps=10" in attacked["attack"]
    assert meta["training"]["adversarial_eps"] == 0.05 and meta["training"]["adversarial_steps"] == 3
    # The training envs hand the agent observations whose newest frame alone moved, by at most eps.
    env = training_env(recipe, seed=0)
    assert isinstance(env, AdversarialObservations)
    env.scores = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(20, 2))
    clean = env.venv.reset()
    moved = env._perturb(clean)
    assert np.array_equal(moved[:, :-1], clean[:, :-1]) and np.abs(moved[:, -1] - clean[:, -1]).max() <= 0.05 + 1e-6
    env.close()
