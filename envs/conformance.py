"""``check_policy``: a conformance check for policies, in the spirit of gymnasium's ``check_env``.

It lives with the envs because it runs the policy on one: the interface it checks (``rlcert.attacks.base``)
sits below the envs and imports nothing from them.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from rlcert.attacks.base import Policy, TorchPolicy
from rlcert.envs.batched import make_batched_env
from rlcert.envs.factory import make_env, resolve_env_spec
from rlcert.envs.rollout import check_compatible

__all__ = ["PolicyCheckError", "check_policy"]


class PolicyCheckError(AssertionError):
    """A policy breaks the ``Policy`` / ``TorchPolicy`` contract."""


def _sample_observations(policy: Policy, env: str | None, count: int, seed: int) -> np.ndarray:
    if env is not None:
        environment = make_env(env)
        environment.action_space.seed(seed)
        obs, _ = environment.reset(seed=seed)
        batch = [obs]
        while len(batch) < count:
            obs, _, terminated, truncated, _ = environment.step(environment.action_space.sample())
            batch.append(obs)
            if terminated or truncated:
                obs, _ = environment.reset()
        environment.close()
        return np.asarray(batch, dtype=np.float32)
    space = policy.observation_space
    rng = np.random.default_rng(seed)
    low = np.where(np.isfinite(space.low), space.low, -1.0)
    high = np.where(np.isfinite(space.high), space.high, 1.0)
    return rng.uniform(low, high, size=(count, *space.shape)).astype(np.float32)


def check_policy(policy: Policy, env: str | None = None, batch: int = 16, seed: int = 0) -> None:
    """Check that ``policy`` honours the contract every rlcert analysis relies on.

    Checks: the spaces exist; ``act`` returns one valid action per row for a batch; it is
    deterministic; a row's action does not depend on the rest of the batch; for a ``TorchPolicy``,
    ``scores`` is differentiable with respect to the observation and ``act`` is its argmax (discrete)
    or agrees with its clipped values (continuous). With ``env`` (a spec string) the observations are
    real ones from that env and the shapes must match it.

    Raises:
        PolicyCheckError: naming the first broken rule.

    Example:
        >>> from rlcert.agents import load_policy
        >>> check_policy(load_policy("zoo:cartpole5-dqn"), env="cartpole5")
    """
    for attribute in ("observation_space", "action_space", "act"):
        if not hasattr(policy, attribute):
            raise PolicyCheckError(f"policy has no {attribute!r}; see rlcert.attacks.base.Policy")
    if not isinstance(policy.action_space, (gym.spaces.Discrete, gym.spaces.Box)):
        raise PolicyCheckError(f"action_space must be Discrete or Box, got {policy.action_space}")
    if env is not None:
        spec = resolve_env_spec(env)
        probe_env = make_batched_env(spec, 1)
        try:
            check_compatible(policy, spec, probe_env.frame_space, probe_env.action_space)
        except ValueError as exc:
            raise PolicyCheckError(str(exc)) from None
        finally:
            probe_env.close()
    obs = _sample_observations(policy, env, batch, seed)
    actions = np.asarray(policy.act(obs))
    if len(actions) != batch:
        raise PolicyCheckError(f"act returned {len(actions)} actions for a batch of {batch} observations")
    for a in actions:
        if not policy.action_space.contains(a.astype(policy.action_space.dtype)):
            raise PolicyCheckError(f"act returned {a!r}, which is not in {policy.action_space}")
    if not np.array_equal(actions, np.asarray(policy.act(obs))):
        raise PolicyCheckError("act is not deterministic: two calls on the same batch differ")
    singles = np.concatenate([np.asarray(policy.act(obs[i : i + 1])) for i in range(batch)])
    if not np.allclose(singles.astype(np.float64), actions.astype(np.float64), atol=1e-5):
        raise PolicyCheckError("act of a row depends on the other rows of the batch")
    if isinstance(policy, TorchPolicy) and hasattr(policy, "scores"):
        x = torch.as_tensor(obs).requires_grad_(True)
        scores = policy.scores(x)
        if scores.ndim != 2 or scores.shape[0] != batch:
            raise PolicyCheckError(f"scores must be (batch, outputs), got {tuple(scores.shape)}")
        scores.sum().backward()
        if x.grad is None or not torch.isfinite(x.grad).all():
            raise PolicyCheckError("scores is not differentiable with respect to the observation")
        if isinstance(policy.action_space, gym.spaces.Discrete):
            if not np.array_equal(scores.detach().argmax(dim=1).numpy(), actions):
                raise PolicyCheckError("act is not the argmax of scores")
