"""Small constrained tasks (CMDPs) of our own: gymnasium envs whose ``info["cost"]`` is the constraint cost.

Safety-Gymnasium pins gymnasium 0.26/0.28 and MuJoCo (REFERENCE §7), so rlcert brings its own tasks. The
rollout engine sums ``info["cost"]`` into each episode's cost (``Episodes.costs``), which is what a
Lagrangian method constrains and what a constraint certificate bounds.

* ``rlcert/CartPoleCost-v1``: CartPole-v1 (500 steps) with cost 1 at every step the cart is more than
  ``threshold`` (default 0.5) from the centre. Balancing alone does not keep the cart near the centre: a policy
  that drifts meets the reward and breaks the constraint, so reward and cost pull apart.
* ``rlcert/CartPoleDriftCost-v1``: the same, plus a reward of 50 per unit the cart moves to the right (up to
  ~120 over an episode, against 500 for balancing): drifting right pays, the cost region is in the way. An
  unconstrained learner drifts into it; a constrained one must give the bonus up.
"""

from __future__ import annotations

import gymnasium as gym

from rlcert.reports.validation import check_finite

__all__ = ["CartPositionCost", "make_cartpole_cost", "CARTPOLE_COST_ID", "CARTPOLE_DRIFT_COST_ID", "reports_cost"]

CARTPOLE_COST_ID = "rlcert/CartPoleCost-v1"
CARTPOLE_DRIFT_COST_ID = "rlcert/CartPoleDriftCost-v1"


class CartPositionCost(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Cost 1 at each step where |cart position| > ``threshold`` (CartPole's x, in its own units; the episode
    ends beyond 2.4).

    Example:
        >>> env = CartPositionCost(gym.make("CartPole-v1"), threshold=0.5)
        >>> _ = env.reset(seed=0)
        >>> env.step(0)[-1]["cost"]
        0.0
    """

    def __init__(self, env: gym.Env, threshold: float = 0.5, drift_reward: float = 0.0):
        check_finite("threshold", threshold, 0, strict=True)
        check_finite("drift_reward", drift_reward, 0)
        gym.utils.RecordConstructorArgs.__init__(self, threshold=threshold, drift_reward=drift_reward)
        gym.Wrapper.__init__(self, env)
        self.threshold, self.drift_reward = float(threshold), float(drift_reward)

    def step(self, action):
        before = float(self.env.unwrapped.state[0])
        observation, reward, terminated, truncated, info = self.env.step(action)
        position = float(self.env.unwrapped.state[0])
        info = dict(info, cost=float(abs(position) > self.threshold))
        return observation, reward + self.drift_reward * (position - before), terminated, truncated, info


def reports_cost(spec) -> bool:
    """Whether an env reports a constraint cost: one step of it has ``info["cost"]``."""
    from rlcert.envs.factory import make_env

    env = make_env(spec)
    try:
        env.reset(seed=0)
        return "cost" in env.step(env.action_space.sample())[-1]
    finally:
        env.close()


def make_cartpole_cost(threshold: float = 0.5, drift_reward: float = 0.0, **kwargs) -> gym.Env:
    """CartPole-v1 with the cart-position cost (the entry point of both CartPole CMDPs)."""
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv

    return CartPositionCost(CartPoleEnv(**kwargs), threshold, drift_reward)


if CARTPOLE_COST_ID not in gym.registry:
    gym.register(id=CARTPOLE_COST_ID, entry_point="rlcert.envs.cmdp:make_cartpole_cost", max_episode_steps=500)
if CARTPOLE_DRIFT_COST_ID not in gym.registry:
    gym.register(id=CARTPOLE_DRIFT_COST_ID, entry_point="rlcert.envs.cmdp:make_cartpole_cost", max_episode_steps=500,
                 kwargs={"drift_reward": 50.0})  # fmt: skip
