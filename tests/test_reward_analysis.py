"""The reward-certificate analysis (rlcert.analyses.reward): what `rlcert certify reward` runs."""

import numpy as np
import pytest

from rlcert.analyses.reward import RewardCertificateConfig, certify_reward, certify_saved_returns
from rlcert.certify.reward import reward_certificate
from rlcert.envs import run
from rlcert.envs.options import RolloutOptions
from rlcert.reports.errors import InvalidValueError

QUIET = RolloutOptions(progress=False)
SMOOTHED = "zoo:cartpole5-ppo-sigma0.2"


def test_the_analysis_certifies_the_episodes_it_ran_and_says_for_what():
    from rlcert.agents import load_policy
    from rlcert.attacks import GaussianSmoothing

    config = RewardCertificateConfig(episodes=300, budgets="0,0.2", bound="dkw")
    result = certify_reward(SMOOTHED, None, config, QUIET)
    episodes = run(load_policy(SMOOTHED), "cartpole5", 300, defense=GaussianSmoothing(0.2), progress=False)
    expected = reward_certificate(episodes, budgets=[0, 0.2], bound="dkw")
    assert result.certificate.certified.tolist() == expected.certified.tolist()
    clean, *bounds = result.findings()
    assert clean.evidence.value == "empirical" and all(f.evidence.value == "statistical" for f in bounds)
    assert result.label() == f"{SMOOTHED} on cartpole5 · σ=0.2 · N=300"
    assert result.report_extra()["config"]["bound"] == "dkw"


def test_default_budgets_scale_with_sigma():
    assert RewardCertificateConfig().budget_values(0.2).tolist() == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert RewardCertificateConfig().budget_values(0.01).tolist() == [0, 0.01, 0.02, 0.03, 0.04, 0.05]
    assert RewardCertificateConfig(budgets="0,0.5").budget_values(0.01).tolist() == [0, 0.5]


def test_the_attack_check_uses_the_certificate_budgets_for_the_undefended_policy_too():
    config = RewardCertificateConfig(
        episodes=100, budgets="0,0.2", bound="dkw", attack_episodes=2, attack_noise_samples=2,
        undefended="zoo:cartpole5-dqn", range="0:200",
    )  # fmt: skip
    result = certify_reward(SMOOTHED, "cartpole5?max_steps=30", config, QUIET)
    assert list(result.attacked) == [0.2] and list(result.undefended) == [0.2]
    names = [f.name for f in result.findings()]
    assert "attacked_mean_return@B=0.2" in names and "undefended_attacked_mean_return@B=0.2" in names


def test_saved_returns_are_certified_as_they_are_and_options_about_running_are_refused():
    returns = np.full(500, 200.0)
    result = certify_saved_returns(returns, 0.2, RewardCertificateConfig(range="0:200", bound="dkw"), "r.npy")
    assert result.subject == {"returns_file": "r.npy"} and result.seed is None
    for options in ({"episodes": 100}, {"attack_episodes": 3}):
        with pytest.raises(InvalidValueError, match="cannot apply"):
            certify_saved_returns(returns, 0.2, RewardCertificateConfig(range="0:200", **options))
    with pytest.raises(InvalidValueError, match="--range a:b is required"):
        certify_saved_returns(returns, 0.2, RewardCertificateConfig())


@pytest.mark.parametrize(
    "options, message",
    [
        ({"budgets": "1:0:0.2"}, "budgets"),
        ({"alpha": 1.0}, "alpha"),
        ({"bound": "dkw", "success_min_return": 100}, "does not apply to a success certificate"),
        ({"undefended": "zoo:cartpole5-dqn"}, "--undefended needs --attack-episodes"),
        ({"episodes": 0}, "--episodes"),
    ],
)
def test_bad_configs_are_refused_before_anything_runs(options, message):
    with pytest.raises(InvalidValueError, match=message):
        RewardCertificateConfig(**options)
