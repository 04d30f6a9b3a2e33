import csv
import json

import pytest
import torch

from agents.loading import load_policy
from agents.recipes import ZooRecipe
from agents.training import evaluate_for_zoo, train_zoo_agent
from agents.zoo import ZOO_DIR
from envs.rollout import run

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
    # Learning rate 0: the shipped weights must be exactly the zoo agent's, which then still balances.
    warm = ZooRecipe("warm", "CartPole-v1?max_steps=100", "ppo", 64, {"n_steps": 32, "batch_size": 32,
                     "learning_rate": 0.0}, (64, 64), n_envs=2, eval_every=64, eval_episodes=2, final_episodes=4,
                     init_from="cartpole-ppo")  # fmt: skip
    meta = train_zoo_agent(warm, tmp_path, verbose=False, run_dir=tmp_path / "run")
    source = load_policy("zoo:cartpole-ppo")
    assert meta["training"]["initialised_from"] == {
        "agent": "cartpole-ppo",
        "weights_fingerprint": source.fingerprint,
        "timesteps": json.loads((ZOO_DIR / "cartpole-ppo" / "meta.json").read_text())["training"]["timesteps"],
    }
    assert load_policy(tmp_path / "weights.pt", architecture=_arch(tmp_path, meta)).fingerprint == source.fingerprint
    assert meta["evaluation"]["mean_return"] == 100.0
    missing = ZooRecipe("cold", "CartPole-v1", "ppo", 64, init_from="no-such-agent")
    with pytest.raises(RuntimeError, match="run 'rlcert zoo train no-such-agent' first"):
        train_zoo_agent(missing, tmp_path / "cold", verbose=False, run_dir=tmp_path / "cold-run")


def test_a_resumed_dqn_refills_its_replay_buffer_before_it_learns_again(tmp_path):
    import torch

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


def test_a_warm_started_or_resumed_dqn_fills_its_buffer_with_its_own_play(tmp_path):
    # A warm start from the balancing zoo DQN that never explores: every training episode of the first
    # fill (steps 0-100) and of the refill after resuming (200-300) must balance for all 50 steps;
    # SB3's uniformly random warm-up actions would fall in ~20. No gradient step before 100.
    import torch

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
                     eval_every=10_000, min_score=0)  # fmt: skip
    run_dir = tmp_path / "run"

    def learning_rate() -> float:
        checkpoint = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
        return checkpoint["optimizer"]["param_groups"][0]["lr"]

    train_zoo_agent(tiny, tmp_path, verbose=False, run_dir=run_dir, stop_after=128)
    assert learning_rate() == pytest.approx(1e-3 * (1 - 128 / 512))
    train_zoo_agent(tiny, tmp_path, verbose=False, run_dir=run_dir, stop_after=128)
    assert learning_rate() == pytest.approx(1e-3 * (1 - 256 / 512))
