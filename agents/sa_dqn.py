"""SA-DQN: DQN trained with the state-adversarial regularizer of Zhang et al. (NeurIPS 2020, "Robust Deep
Reinforcement Learning against Adversarial Perturbations on State Observations", §3.3 and Algorithm 2), with
its PGD solver for the inner maximisation.

Each gradient step minimises the ordinary (Huber) TD loss on clean replay states plus κ times

    R(θ) = mean_s max{ max_{ŝ ∈ B_ε(s)} max_{a ≠ a*(s)} Q_θ(ŝ, a) − Q_θ(ŝ, a*(s)), −c },
    a*(s) = argmax_a Q_θ(s, a),

a hinge on the margin of the clean greedy action inside the ℓ∞ ball: it pushes every other action at least
``c`` below a*(s) wherever an observation attack of radius ε could reach. The maximisation over ŝ is solved
approximately by PGD (``rlcert.attacks.pgd.pgd_linf``) on the whole frame stack: the rollout engine's
:class:`~rlcert.attacks.pgd.FramePGD` perturbs each frame as it arrives and keeps it in the history, so every
frame of an attacked stack lies within ε of its clean one. Unlike PGD adversarial training (Madry et al.), the
TD targets stay on clean states: the regularizer moves the decision boundary away from the states, the value
estimates do not learn from perturbed play. ε grows linearly from 0 over ``eps_ramp`` training steps, as SA-DQN
schedules it, so the warm-started Q-function is not pushed to a full-radius margin at once.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from stable_baselines3 import DQN

from rlcert.attacks.pgd import pgd_linf

__all__ = ["adversarial_margin_hinge", "StateAdversarialDQN"]


def adversarial_margin_hinge(
    q_net: Any,
    observations: torch.Tensor,
    greedy: torch.Tensor,
    eps: float,
    steps: int,
    hinge: float,
    box: tuple[float, float] | None,
) -> torch.Tensor:
    """R(θ) of SA-DQN on a batch (differentiable in the network's parameters): the mean over states of
    max(max_{a≠a*} Q(ŝ, a) − Q(ŝ, a*), −hinge), with ŝ found by ``steps`` PGD steps of radius ``eps``."""
    attacked = observations if eps == 0 else pgd_linf(q_net, observations, eps, steps, box, labels=greedy)
    q = q_net(attacked)
    greedy_q = q.gather(1, greedy.unsqueeze(1)).squeeze(1)
    others = q.masked_fill(F.one_hot(greedy, q.shape[1]).bool(), float("-inf")).amax(1)
    return (others - greedy_q).clamp(min=-hinge).mean()


class StateAdversarialDQN(DQN):
    """SB3's DQN whose gradient steps add ``kappa`` · R(θ) (module docstring) to the TD loss; ``eps_now()`` is
    the radius at the current step."""

    def __init__(self, *args: Any, sa_eps: float, sa_steps: int, sa_kappa: float, sa_hinge: float,
                 sa_eps_ramp: int, sa_box: tuple[float, float] | None, **kwargs: Any) -> None:  # fmt: skip
        self.sa_eps, self.sa_steps, self.sa_kappa, self.sa_hinge = sa_eps, sa_steps, sa_kappa, sa_hinge
        self.sa_eps_ramp, self.sa_box = sa_eps_ramp, sa_box
        super().__init__(*args, **kwargs)

    def eps_now(self) -> float:
        if self.sa_eps_ramp <= 0:
            return self.sa_eps
        return self.sa_eps * min(1.0, self.num_timesteps / self.sa_eps_ramp)

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        eps = self.eps_now()
        for _ in range(gradient_steps):
            batch = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            # n-step replay stores each transition's own discount (gamma^k, k <= n, shorter at episode ends)
            discounts = batch.discounts if batch.discounts is not None else self.gamma
            with torch.no_grad():
                bootstrap = self.q_net_target(batch.next_observations).amax(1, keepdim=True)
                target = batch.rewards + (1 - batch.dones) * discounts * bootstrap
            q = self.q_net(batch.observations)
            td_loss = F.smooth_l1_loss(q.gather(1, batch.actions.long()), target)
            greedy = q.detach().argmax(1)
            hinge = adversarial_margin_hinge(
                self.q_net, batch.observations, greedy, eps, self.sa_steps, self.sa_hinge, self.sa_box
            )
            self.policy.optimizer.zero_grad()
            (td_loss + self.sa_kappa * hinge).backward()
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
        self._n_updates += gradient_steps
