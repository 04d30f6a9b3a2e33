"""Two-Stage Deep Decision Rules (Rosemberg, Street, Valladão, Van Hentenryck 2024, arXiv 2405.14973, §3-4).

A policy network (an LSTM over each stage's inflows and start volumes) emits the target end volumes x̂_t of
every stage; the deterministic stage LP (``rlcert.envs.hydro.stage``) then dispatches with its end volumes
fixed to them. Training minimises the mean total cost over sampled inflow paths by gradient descent, the
gradient of each stage cost coming from the LP's duals (envelope theorem):

* ∂cost_t/∂x̂_t is the dual of the target rows;
* ∂cost_t/∂v_{t−1} is the dual of the water-balance rows (the start volumes enter only their right-hand side),
  which carries the gradient to the decisions of earlier stages.

Targets are squashed into the interval one stage can always reach (``reachable_interval``): x̂ = ℓ + σ(z)(u − ℓ)
with u = min(v̄, v_{t−1} + K w_t) computed in torch, so the gradient also flows through the interval's bounds —
the authors found their gradient 17× too short and 48° off without that (REFERENCE §7). The stage costs are a
torch autograd Function whose backward pass returns the duals; the whole gradient is checked against finite
differences of the rollout cost in the tests.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rlcert.agents.training_checkpoint import save_atomic
from rlcert.envs.hydro.case import HydroCase
from rlcert.envs.hydro.simulate import TargetPolicy, sample_inflow_paths
from rlcert.envs.hydro.stage_batch import StageBatch
from rlcert.reports.errors import OperationError
from rlcert.reports.validation import check_count, check_finite

__all__ = [
    "ReachableTargetPolicy",
    "StageCost",
    "rollout_cost",
    "as_target_policy",
    "TrainingConfig",
    "TrainingResult",
    "train_tsddr",
    "save_tsddr",
    "load_tsddr",
    "Comparison",
    "compare_with_baselines",
    "EVALUATION_STREAM",
]


class StageCost(torch.autograd.Function):
    """cost(v_in, x̂) of a batch of stage LPs (a :class:`StageBatch`), with the LP duals as its gradient."""

    @staticmethod
    def forward(ctx, v_in: torch.Tensor, target: torch.Tensor, inflow: torch.Tensor, stages: StageBatch):
        costs, d_target, d_start = stages.solve(v_in.detach().numpy(), inflow.numpy(), target.detach().numpy())
        # The start volume enters the water-balance rows' right-hand side with coefficient 1: their duals are
        # ∂cost/∂v_in.
        ctx.save_for_backward(torch.as_tensor(d_start), torch.as_tensor(d_target))
        return torch.as_tensor(costs, dtype=v_in.dtype)

    @staticmethod
    def backward(ctx, grad_cost: torch.Tensor):
        d_start, d_target = ctx.saved_tensors
        scale = grad_cost[:, None].to(d_start.dtype)
        return (scale * d_start).to(grad_cost.dtype), (scale * d_target).to(grad_cost.dtype), None, None


class ReachableTargetPolicy(nn.Module):
    """An LSTM over (inflows, start volumes) whose output is squashed into each stage's reachable interval."""

    def __init__(self, case: HydroCase, hidden: int = 64):
        super().__init__()
        plants = len(case.plants)
        self.lstm = nn.LSTMCell(2 * plants, hidden)
        self.head = nn.Linear(hidden, plants)
        self.register_buffer("top", torch.tensor([p.max_volume for p in case.plants], dtype=torch.float64))
        self.register_buffer("bottom", torch.tensor([p.min_volume for p in case.plants], dtype=torch.float64))
        self.register_buffer("least_outflow", torch.tensor([p.min_turn for p in case.plants], dtype=torch.float64))
        self.register_buffer("inflow_scale", torch.tensor(np.maximum(case.inflows.mean(axis=(0, 2)), 1e-9)))
        self.k = case.water_balance_k
        self.hidden = hidden
        self.double()

    def initial_state(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = torch.zeros(batch, self.hidden, dtype=torch.float64)
        return zeros, zeros.clone()

    def forward(self, v_in: torch.Tensor, inflow: torch.Tensor, state):
        """Targets for one stage of a batch, and the next LSTM state."""
        features = torch.cat([inflow / self.inflow_scale, v_in / self.top.clamp(min=1e-9)], dim=1)
        h, c = self.lstm(features, state)
        fraction = torch.sigmoid(self.head(h))
        # The reachable interval in torch, so the gradient flows through its bound too.
        high = torch.minimum(self.top, v_in + self.k * (inflow - self.least_outflow)).clamp(min=self.bottom)
        return self.bottom + fraction * (high - self.bottom), (h, c)


def rollout_cost(policy: ReachableTargetPolicy, case: HydroCase, paths: np.ndarray, stages: StageBatch) -> torch.Tensor:
    """Mean total cost of ``policy`` over the (paths, horizon, plants) inflows, differentiable in its weights;
    ``stages`` solves one stage LP per path."""
    inflows = torch.tensor(np.asarray(paths), dtype=torch.float64)  # a copy: case arrays are read-only
    count, horizon, _ = inflows.shape
    stages.restart()  # new paths: each row's warm starts come from its own path alone
    v = torch.as_tensor(np.tile(case.initial_volume, (count, 1)), dtype=torch.float64)
    state = policy.initial_state(count)
    total = torch.zeros(count, dtype=torch.float64)
    for t in range(horizon):
        target, state = policy(v, inflows[:, t], state)
        total = total + StageCost.apply(v, target, inflows[:, t], stages)
        v = target  # the stage ends where its target says (a hard equality in the stage LP)
    return total.mean()


def as_target_policy(policy: ReachableTargetPolicy) -> TargetPolicy:
    """The trained network as a stage-by-stage policy for ``rlcert.envs.hydro.simulate`` (one path at a time:
    its LSTM state restarts at stage 0)."""
    state: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def act(t: int, v_in: np.ndarray, inflow: np.ndarray) -> np.ndarray:
        if t == 0:
            state["lstm"] = policy.initial_state(1)
        with torch.no_grad():
            v = torch.tensor(np.asarray(v_in, dtype=np.float64)[None])
            w = torch.tensor(np.asarray(inflow, dtype=np.float64)[None])
            target, state["lstm"] = policy(v, w, state["lstm"])
        return target[0].numpy()

    return act


@dataclass(frozen=True)
class TrainingConfig:
    """How TS-DDR trains (Rosemberg et al. 2024, §5: 96 reported stages, trained on 126 with a 30-stage buffer so
    that the policy does not empty the reservoirs at the end of the reported horizon)."""

    horizon: int = 96
    """Stages whose cost is reported."""
    buffer: int = 30
    """Extra stages trained on after the horizon (their cost counts in training, not in evaluation)."""
    batch: int = 16
    """Inflow paths per gradient step (fresh ones each step, stagewise independent)."""
    iterations: int = 1000
    """Gradient steps."""
    learning_rate: float = 1e-3
    hidden: int = 64
    """LSTM width."""
    seed: int = 0
    checkpoint_every: int = 50
    workers: int = 1
    """Processes solving the stage LPs of a minibatch (one model per path, so the result is the same for any
    number of workers)."""

    def __post_init__(self) -> None:
        for name in ("horizon", "batch", "iterations", "hidden", "checkpoint_every", "workers"):
            check_count(name, getattr(self, name))
        check_count("buffer", self.buffer, 0)
        check_count("seed", self.seed, 0)
        check_finite("learning_rate", self.learning_rate, 0, strict=True)


@dataclass(frozen=True)
class TrainingResult:
    policy: ReachableTargetPolicy
    costs: tuple[float, ...]
    """Mean training cost (horizon + buffer) of each gradient step."""
    wall_time_s: float


def train_tsddr(case: HydroCase, config: TrainingConfig, checkpoint: str | Path | None = None) -> TrainingResult:
    """Train a TS-DDR policy on ``case``. With ``checkpoint`` (a file) the run saves itself every
    ``checkpoint_every`` steps and a rerun resumes there; step i trains on paths drawn from
    ``SeedSequence(seed, spawn_key=(i,))``, so a resumed run sees the paths an uninterrupted one sees."""
    torch.manual_seed(int(np.random.SeedSequence(config.seed).generate_state(1)[0]))
    policy = ReachableTargetPolicy(case, hidden=config.hidden)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.learning_rate)
    costs: list[float] = []
    seconds = 0.0
    path = Path(checkpoint) if checkpoint is not None else None
    # What a checkpoint must match to be resumed: neither the step count nor the workers change the run.
    fingerprint = json.dumps([case.name, asdict(config) | {"iterations": None, "workers": None}], sort_keys=True)
    if path is not None and path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved.get("fingerprint") != fingerprint:
            raise OperationError(f"{path} belongs to another case or configuration; remove it to start afresh")
        policy.load_state_dict(saved["policy"])
        optimizer.load_state_dict(saved["optimizer"])
        costs, seconds = list(saved["costs"]), float(saved["seconds"])
    start = time.perf_counter()
    with StageBatch(case, config.batch, config.workers) as stages:
        for step in range(len(costs), config.iterations):
            seed = int(np.random.SeedSequence(config.seed, spawn_key=(step,)).generate_state(1)[0])
            paths = sample_inflow_paths(case, config.horizon + config.buffer, config.batch, seed)
            optimizer.zero_grad()
            cost = rollout_cost(policy, case, paths, stages)
            cost.backward()
            optimizer.step()
            costs.append(cost.item())
            if path is not None and (len(costs) % config.checkpoint_every == 0 or len(costs) == config.iterations):
                state = {"fingerprint": fingerprint, "policy": policy.state_dict(), "optimizer": optimizer.state_dict(),
                         "costs": costs, "seconds": seconds + time.perf_counter() - start}  # fmt: skip
                save_atomic(state, path)
    return TrainingResult(policy, tuple(costs), seconds + time.perf_counter() - start)


def save_tsddr(
    result: TrainingResult, case_name: str, config: TrainingConfig, folder: str | Path, command: str = "", **meta
) -> Path:
    """weights.pt (the network's state_dict) and meta.json (case, configuration, training costs, ``meta``) in the
    zoo's format (``kind`` "tsddr"); ``command`` is the command line that reproduces it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_atomic(result.policy.state_dict(), folder / "weights.pt")
    record = {
        "name": folder.name,
        "kind": "tsddr",
        "algorithm": "TS-DDR",
        "description": f"TS-DDR decision rule, {case_name} hydrothermal case, {config.horizon} stages",
        "case": case_name,
        "config": asdict(config),
        "training": {"command": command, "seed": config.seed, "iterations": len(result.costs),
                     "wall_time_s": round(result.wall_time_s, 1), "costs": list(result.costs)},
    } | meta  # fmt: skip
    (folder / "meta.json").write_text(json.dumps(record, indent=1) + "\n")
    return folder


def load_tsddr(folder: str | Path) -> tuple[ReachableTargetPolicy, HydroCase, TrainingConfig]:
    """A TS-DDR policy saved by :func:`save_tsddr`, from its folder or the zoo (``zoo:NAME``); the weights are read
    with ``weights_only=True``."""
    from rlcert.envs.hydro.case import bundled_case

    if str(folder).startswith("zoo:"):
        from rlcert.agents.zoo import zoo_entry

        folder = zoo_entry(str(folder)[len("zoo:") :]).path
    folder = Path(folder)
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("kind") != "tsddr":
            raise ValueError(f"its meta.json has kind {meta.get('kind')!r}, not 'tsddr'")
        config = TrainingConfig(**meta["config"])
        case = bundled_case(meta["case"])
        policy = ReachableTargetPolicy(case, hidden=config.hidden)
        policy.load_state_dict(torch.load(folder / "weights.pt", map_location="cpu", weights_only=True))
    except (OSError, KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise OperationError(f"{folder} is not a saved TS-DDR policy ({type(exc).__name__}: {exc})") from None
    return policy, case, config


# The evaluation paths' SeedSequence child of the run's seed; training steps use children 0, 1, 2, ...
EVALUATION_STREAM = 2**32 - 1


@dataclass(frozen=True)
class Comparison:
    """Mean total cost (empirical, with its 95 % interval) of each policy on the same out-of-sample paths."""

    rows: tuple[tuple[str, tuple[float, float, float], float | None], ...]
    """(policy, (mean, low, high), training seconds or None)."""
    wait_and_see: float
    """The perfect-information bound's mean on the same paths."""
    paths: int
    """Out-of-sample inflow paths (SeedSequence child ``EVALUATION_STREAM`` of the training seed)."""
    sddp: dict[str, Any] | None = None
    """SDDP's own convergence record when it was trained here: iterations, cuts, the deterministic lower bound
    and its simulated upper bound's mean and 95 % interval (on SDDP's own sample paths), converged."""

    def to_dict(self) -> dict[str, Any]:
        rows = {name: {"mean": m, "low": lo, "high": hi, "training_s": t} for name, (m, lo, hi), t in self.rows}
        return {"policies": rows, "wait_and_see": self.wait_and_see, "paths": self.paths, "sddp": self.sddp,
                "evidence": "empirical (means and 95 % intervals over the shared paths)"}  # fmt: skip


def compare_with_baselines(
    case: HydroCase, result: TrainingResult, config: TrainingConfig, paths: int, sddp: bool = False
) -> Comparison:
    """TS-DDR against the deterministic and myopic policies (and SDDP, trained here, with ``sddp``) on ``paths``
    out-of-sample inflow paths of the training horizon, drawn from a stream training never draws from."""
    from rlcert.envs.hydro.simulate import deterministic_policy, myopic_targets, simulate, wait_and_see_costs
    from rlcert.training.sddp import SDDP, SDDPConfig

    seed = int(np.random.SeedSequence(config.seed, spawn_key=(EVALUATION_STREAM,)).generate_state(1)[0])
    inflows = sample_inflow_paths(case, config.horizon, paths, seed)
    rows = [("TS-DDR", simulate(case, as_target_policy(result.policy), inflows).mean_and_interval(),
             result.wall_time_s)]  # fmt: skip
    record = None
    if sddp:
        solver = SDDP(case, SDDPConfig(horizon=config.horizon, seed=config.seed))
        trained = solver.train()
        rows.append(("SDDP", simulate(case, solver.policy(), inflows).mean_and_interval(), trained.wall_time_s))
        record = {"iterations": trained.iterations, "cuts": trained.cuts, "lower_bound": trained.lower_bound,
                  "upper_bound": list(trained.upper_bound), "converged": trained.converged}  # fmt: skip
    for name, policy in (("deterministic equivalent", deterministic_policy(case, config.horizon)),
                         ("myopic", myopic_targets(case))):  # fmt: skip
        rows.append((name, simulate(case, policy, inflows).mean_and_interval(), None))
    return Comparison(tuple(rows), float(wait_and_see_costs(case, inflows).mean()), paths, record)
