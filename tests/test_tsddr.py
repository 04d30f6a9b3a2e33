import numpy as np
import pytest
import torch

from rlcert.envs.hydro import bundled_case
from rlcert.envs.hydro.simulate import sample_inflow_paths
from rlcert.envs.hydro.stage import StageProblem
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
    stage, policy = StageProblem(CASE), ReachableTargetPolicy(CASE, hidden=4)
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
    stage = StageProblem(CASE)
    v_in = torch.tensor([[0.2, 0.1]], dtype=torch.float64, requires_grad=True)
    inflow = torch.tensor(CASE.stage_inflows(0)[:, :1].T)  # a copy: case arrays are read-only
    target = torch.tensor([[0.15, 0.05]], dtype=torch.float64, requires_grad=True)
    StageCost.apply(v_in, target, inflow, stage).sum().backward()
    solution = stage.solve(v_in.detach().numpy()[0], inflow.numpy()[0], target.detach().numpy()[0])
    assert np.allclose(target.grad.numpy()[0], solution.target_duals)
    assert np.allclose(v_in.grad.numpy()[0], solution.water_duals)


def test_a_few_gradient_steps_lower_the_cost_and_targets_stay_reachable():
    torch.manual_seed(1)
    stage, policy = StageProblem(CASE), ReachableTargetPolicy(CASE, hidden=8)
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
    policy, case, config = load_tsddr(tmp_path / "run")
    assert case.name == "tiny-3bus" and config.hidden == 4 and config.iterations == 3
    with pytest.raises(OperationError, match="not a saved TS-DDR policy"):
        load_tsddr(tmp_path)
