import pytest

from rlcert.agents.recipes import RECIPES, recipe
from rlcert.envs.factory import resolve_env_spec


def test_every_recipe_names_a_valid_env_and_algorithm():
    for r in RECIPES.values():
        resolve_env_spec(r.env)
        assert r.algorithm in {"dqn", "ppo"} and r.timesteps > 0 and r.noise_sigma >= 0


def test_noise_recipes_match_the_certificate_setups():
    assert recipe("cartpole5-dqn-sigma0.2").noise_sigma == 0.2
    assert recipe("cartpole5-dqn-sigma0.4").noise_sigma == 0.4
    assert recipe("cartpole5-dqn").net_arch == (256, 256)  # Kumar et al.'s DQN MLP
    with pytest.raises(KeyError, match="recipes: cartpole5-dqn"):
        recipe("nope")


def test_sampled_evaluation_is_for_ppo_recipes_only():
    from rlcert.agents.recipes import ZooRecipe

    with pytest.raises(ValueError, match="needs a PPO agent"):
        ZooRecipe("x", "cartpole5", "dqn", 10, evaluation_actions="sampled")
    with pytest.raises(ValueError, match="evaluation_actions must be 'greedy' or 'sampled', got 'argmax'"):
        ZooRecipe("x", "cartpole5", "ppo", 10, evaluation_actions="argmax")


def test_sa_regularizer_settings_are_checked():
    from rlcert.agents.recipes import ZooRecipe

    with pytest.raises(ValueError, match="'pgd' or 'sa-regularizer', got 'sa'"):
        ZooRecipe("x", "cartpole5", "dqn", 10, adversarial_eps=0.1, adversarial_method="sa")
    with pytest.raises(ValueError, match="needs a DQN agent"):
        ZooRecipe("x", "cartpole5", "ppo", 10, adversarial_eps=0.1, adversarial_method="sa-regularizer")
    with pytest.raises(ValueError, match="adversarial_ramp applies to adversarial_method='sa-regularizer' only"):
        ZooRecipe("x", "cartpole5", "dqn", 10, adversarial_eps=0.1, adversarial_ramp=5)
    with pytest.raises(ValueError, match="sa_kappa and sa_hinge must be > 0"):
        ZooRecipe("x", "cartpole5", "dqn", 10, adversarial_method="sa-regularizer", sa_kappa=0)
    robust = recipe("freeway-dqn-sa")
    assert robust.init_from == "freeway-dqn" and robust.adversarial_eps == 1 / 255
    assert "SA-DQN regularizer" in robust.description
