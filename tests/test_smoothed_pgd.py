import numpy as np
import pytest

from rlcert.agents import load_policy
from rlcert.attacks.smoothed_pgd import BudgetedSmoothedPGD
from rlcert.attacks.smoothing import GaussianSmoothing
from rlcert.certify.reward import reward_certificate
from rlcert.envs.rollout import run


def test_the_attack_stays_within_its_total_budget_and_hurts_an_undefended_agent():
    policy = load_policy("zoo:cartpole5-dqn")
    clean = run(policy, "cartpole5", 20, seed=4)
    attacked = run(policy, "cartpole5", 20, seed=4, attack=BudgetedSmoothedPGD(0.8, sigma=0.0), record_steps=True)
    assert attacked.mean_return < 0.5 * clean.mean_return
    for record in attacked.records:
        spent = np.sum((record.seen - record.frames).astype(np.float64) ** 2)
        assert np.sqrt(spent) <= 0.8 + 1e-5
        assert np.count_nonzero(np.any(record.seen != record.frames, axis=1)) >= 1


def test_smoothed_attack_only_perturbs_within_budget():
    policy = load_policy("zoo:cartpole5-ppo-sigma0.2")
    attack = BudgetedSmoothedPGD(0.3, sigma=0.2, noise_samples=16, pgd_steps=3)
    eps = run(policy, "cartpole5", 4, seed=1, attack=attack, defense=GaussianSmoothing(0.2), record_steps=True)
    assert len(eps) == 4


def test_parameters_are_validated():
    with pytest.raises(ValueError, match="finite number >= 0"):
        BudgetedSmoothedPGD(-1.0, 0.2)
    with pytest.raises(ValueError, match="sigma"):
        BudgetedSmoothedPGD(1.0, -0.2)
    with pytest.raises(ValueError, match="noise_samples"):
        BudgetedSmoothedPGD(1.0, 0.2, noise_samples=0)


@pytest.mark.slow
def test_certificate_holds_against_the_adaptive_attack_and_the_undefended_agent_breaks_it():
    """REFERENCE §1: the attacked mean of 1,000 episodes stays above the certificate at every budget,
    while the undefended agent under the same attack falls below it at the larger budgets."""
    sigma, budgets = 0.2, [0.2, 0.6, 0.8]
    smoothed = load_policy("zoo:cartpole5-ppo-sigma0.2")
    clean = run(smoothed, "cartpole5", 10_000, seed=0, defense=GaussianSmoothing(sigma))
    cert = reward_certificate(clean.returns, sigma, budgets, alpha=0.05, low=0, high=200)
    undefended = load_policy("zoo:cartpole5-dqn")
    for budget, certified in zip(budgets, cert.certified):
        # 32 noise samples instead of the default 128 keep this within CI's time (about 2.5 minutes);
        # `rlcert certify reward --attack-episodes` runs the full-strength attack.
        attack = BudgetedSmoothedPGD(budget, sigma, noise_samples=32, pgd_steps=6, stages=3)
        attacked = run(
            smoothed, "cartpole5", 1000, seed=1, attack=attack, defense=GaussianSmoothing(sigma), chunk_size=1000
        )
        assert attacked.mean_return >= certified
        if budget >= 0.6:
            broken = run(
                undefended, "cartpole5", 1000, seed=1, attack=BudgetedSmoothedPGD(budget, 0.0), chunk_size=1000
            )
            assert broken.mean_return < certified
