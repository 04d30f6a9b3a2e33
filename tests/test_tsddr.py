import numpy as np
import pytest
import torch

from rlcert.envs.hydro import bundled_case
from rlcert.envs.hydro.simulate import sample_inflow_paths
from rlcert.envs.hydro.stage import StageProblem
from rlcert.envs.hydro.stage_batch import StageBatch
from rlcert.reports.errors import OperationError
from rlcert.training.tsddr import ReachableTargetPolicy, StageCost, rollout_cost

CASE = bundled_case("tiny")


def _flat(policy):
    return torch.cat([p.detach().flatten() for p in policy.parameters()])


def _set(policy, vector):
    start = 0
    with torch.no_grad():
        for p in policy.parameters():
            p.copy_(vector[start : start + p.numel()].view_as(p))
            start += p.numel()


def test_the_whole_tsddr_gradient_matches_finite_differences_of_the_rollout_cost():
    # Duals as the stage costs' gradient, chained through the LSTM, the squashing and the reachable
    # interval's bound: every weight's finite difference must agree with autograd.
    torch.manual_seed(0)
    stage, policy = StageBatch(CASE, 3), ReachableTargetPolicy(CASE, hidden=4)
    paths = sample_inflow_paths(CASE, 12, 3, seed=0)
    rollout_cost(policy, CASE, paths, stage).backward()
    gradient = torch.cat([p.grad.flatten() for p in policy.parameters()])
    weights = _flat(policy)
    finite = torch.zeros_like(weights)
    h = 1e-6
    for j in range(len(weights)):
        step = torch.zeros_like(weights)
        step[j] = h
        _set(policy, weights + step)
        up = rollout_cost(policy, CASE, paths, stage).item()
        _set(policy, weights - step)
        finite[j] = (up - rollout_cost(policy, CASE, paths, stage).item()) / (2 * h)
    cosine = torch.dot(gradient, finite) / (gradient.norm() * finite.norm())
    assert cosine > 0.99 and abs(gradient.norm() / finite.norm() - 1) < 0.01


def test_stage_cost_gradients_are_the_duals():
    stage = StageBatch(CASE, 1)
    v_in = torch.tensor([[0.2, 0.1]], dtype=torch.float64, requires_grad=True)
    inflow = torch.tensor(CASE.stage_inflows(0)[:, :1].T)  # a copy: case arrays are read-only
    target = torch.tensor([[0.15, 0.05]], dtype=torch.float64, requires_grad=True)
    StageCost.apply(v_in, target, inflow, stage).sum().backward()
    solution = StageProblem(CASE).solve(v_in.detach().numpy()[0], inflow.numpy()[0], target.detach().numpy()[0])
    assert np.allclose(target.grad.numpy()[0], solution.target_duals)
    assert np.allclose(v_in.grad.numpy()[0], solution.water_duals)


def test_a_few_gradient_steps_lower_the_cost_and_targets_stay_reachable():
    torch.manual_seed(1)
    stage, policy = StageBatch(CASE, 8), ReachableTargetPolicy(CASE, hidden=8)
    paths = sample_inflow_paths(CASE, 12, 8, seed=2)
    optimizer = torch.optim.Adam(policy.parameters(), lr=0.05)
    costs = []
    for _ in range(15):
        optimizer.zero_grad()
        cost = rollout_cost(policy, CASE, paths, stage)  # an unreachable target would make a stage LP infeasible
        cost.backward()
        optimizer.step()
        costs.append(cost.item())
    assert costs[-1] < costs[0]


def test_the_workers_solving_the_stage_lps_do_not_change_the_training():
    from rlcert.training.tsddr import TrainingConfig, train_tsddr

    config = TrainingConfig(horizon=6, buffer=2, batch=4, iterations=3, hidden=4, learning_rate=0.05)
    serial = train_tsddr(CASE, config)
    parallel = train_tsddr(CASE, TrainingConfig(**{**config.__dict__, "workers": 2}))
    assert serial.costs == parallel.costs
    for a, b in zip(serial.policy.parameters(), parallel.policy.parameters()):
        assert torch.equal(a, b)


def test_training_resumed_from_its_checkpoint_is_the_uninterrupted_run(tmp_path):
    from rlcert.training.tsddr import TrainingConfig, train_tsddr

    config = TrainingConfig(horizon=6, buffer=2, batch=2, iterations=6, hidden=4, checkpoint_every=3, seed=5)
    whole = train_tsddr(CASE, config)
    first = train_tsddr(CASE, TrainingConfig(**{**config.__dict__, "iterations": 3}), tmp_path / "run.pt")
    resumed = train_tsddr(CASE, config, tmp_path / "run.pt")
    assert first.costs == whole.costs[:3] and resumed.costs == whole.costs
    assert all(
        torch.equal(a, b) for a, b in zip(whole.policy.state_dict().values(), resumed.policy.state_dict().values())
    )
    other = TrainingConfig(**{**config.__dict__, "hidden": 8})
    with pytest.raises(OperationError, match="another case or configuration"):
        train_tsddr(CASE, other, tmp_path / "run.pt")


def test_rlcert_train_tsddr_trains_evaluates_and_saves_a_policy_that_loads(tmp_path, capsys):
    from rlcert.cli import main
    from rlcert.training.tsddr import load_tsddr

    args = ["train", "tsddr", "--case", "tiny", "--horizon", "6", "--buffer", "1", "--iterations", "3", "--batch", "2",
            "--hidden", "4", "--evaluation-paths", "4", "--out-dir", str(tmp_path / "run")]  # fmt: skip
    assert main(args) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "TS-DDR" in printed and "wait-and-see bound" in printed and "deterministic equivalent" in printed
    assert (tmp_path / "run" / "learning_curve.png").stat().st_size > 0
    policy, case, config = load_tsddr(tmp_path / "run")
    assert case.name == "tiny-3bus" and config.hidden == 4 and config.iterations == 3
    with pytest.raises(OperationError, match="not a saved TS-DDR policy"):
        load_tsddr(tmp_path)


def test_the_shipped_bolivia_rule_reproduces_its_recorded_out_of_sample_cost():
    from rlcert.agents.zoo import zoo_entry
    from rlcert.envs.hydro.simulate import simulate
    from rlcert.training.tsddr import EVALUATION_STREAM, as_target_policy, load_tsddr

    policy, case, config = load_tsddr("zoo:bolivia-tsddr")
    meta = zoo_entry("bolivia-tsddr").meta
    assert case.name == "bo-caso4" and config.horizon == 96 and meta["training"]["command"].startswith("rlcert train")
    recorded = meta["evaluation"]["policies"]
    seed = int(np.random.SeedSequence(config.seed, spawn_key=(EVALUATION_STREAM,)).generate_state(1)[0])
    paths = meta["evaluation"]["paths"]
    inflows = sample_inflow_paths(case, config.horizon, paths, seed)
    mean, _, _ = simulate(case, as_target_policy(policy), inflows).mean_and_interval()
    assert mean == pytest.approx(recorded["TS-DDR"]["mean"], rel=1e-6)
    # The figures the issue asks for: within 1 % of SDDP (here below it) and above the perfect-information bound.
    assert meta["evaluation"]["wait_and_see"] < mean <= 1.01 * recorded["SDDP"]["mean"]


@pytest.mark.slow
def test_on_the_tiny_case_tsddr_trains_and_beats_the_simple_policies_near_sddp():
    """The product's end-to-end path on the bundled synthetic case, sized for CI (about 10 s): TS-DDR trained
    through the duals, then SDDP, the wait-and-see bound and the simple policies on shared out-of-sample paths."""
    from rlcert.training.tsddr import TrainingConfig, compare_with_baselines, train_tsddr

    config = TrainingConfig(horizon=12, buffer=6, batch=8, iterations=400, learning_rate=0.01, hidden=16)
    comparison = compare_with_baselines(CASE, train_tsddr(CASE, config), config, 50, sddp=True)
    means = {name: mean for name, (mean, _, _), _ in comparison.rows}
    assert comparison.sddp["converged"] and comparison.sddp["lower_bound"] <= means["SDDP"] * 1.01
    assert comparison.wait_and_see <= min(means.values())
    assert means["TS-DDR"] < 0.5 * min(means["deterministic equivalent"], means["myopic"])
    assert means["TS-DDR"] <= 1.25 * means["SDDP"]
