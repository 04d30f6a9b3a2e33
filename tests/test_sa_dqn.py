"""SA-DQN's regularizer (rlcert.agents.sa_dqn): on a linear Q-function the worst case in the l-inf ball is known in
closed form, and gradient steps on the regularizer widen the greedy action's margin."""

import numpy as np
import pytest
import torch

pytest.importorskip("stable_baselines3")

from rlcert.agents.recipes import ZooRecipe  # noqa: E402
from rlcert.agents.sa_dqn import StateAdversarialDQN, adversarial_margin_hinge  # noqa: E402
from rlcert.agents.training import train_zoo_agent  # noqa: E402
from rlcert.agents.training_checkpoint import recipe_fingerprint  # noqa: E402


def _linear(weights: list[list[float]]) -> torch.nn.Linear:
    layer = torch.nn.Linear(len(weights[0]), len(weights), bias=False)
    layer.weight.data = torch.tensor(weights)
    return layer


@pytest.mark.parametrize("eps", [0.0, 0.05, 0.2])
def test_the_hinge_on_a_linear_q_function_is_the_closed_form_worst_margin(eps):
    # Two actions: Q_1 - Q_0 = (w_1 - w_0) x, whose maximum over the l-inf ball is (w_1 - w_0) x + eps |w_1 - w_0|_1;
    # PGD on the cross-entropy of two actions climbs exactly that direction.
    q_net = _linear([[1.0, -2.0, 0.5], [0.2, 1.0, 0.0]])
    x = torch.tensor([[1.0, 0.1, 0.4], [0.3, 0.2, -0.1], [2.0, -1.0, 0.0]])
    greedy = q_net(x).argmax(1)
    gap = (q_net.weight[1] - q_net.weight[0]).detach()
    other_minus_greedy = torch.where(greedy == 0, x @ gap, -(x @ gap)) + eps * gap.abs().sum()
    for hinge in (0.1, 10.0):
        expected = other_minus_greedy.clamp(min=-hinge).mean()
        got = adversarial_margin_hinge(q_net, x, greedy, eps, steps=5, hinge=hinge, box=None)
        assert float(got.detach()) == pytest.approx(float(expected), abs=1e-5)


def test_the_box_keeps_the_attacked_state_inside_it():
    q_net = _linear([[1.0, 1.0], [0.0, 0.0]])  # action 0 greedy on positive x; its worst case lowers both inputs
    x = torch.tensor([[0.01, 0.5]])
    got = adversarial_margin_hinge(q_net, x, torch.tensor([0]), 0.1, steps=5, hinge=10.0, box=(0.0, 1.0))
    assert float(got.detach()) == pytest.approx(-(0.0 + 0.4), abs=1e-5)  # x[0] stops at 0, x[1] moves the full 0.1


def test_gradient_steps_on_the_regularizer_widen_the_worst_case_margin():
    torch.manual_seed(0)
    q_net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    x = torch.randn(64, 4)
    greedy = q_net(x).argmax(1).detach()
    optimizer = torch.optim.Adam(q_net.parameters(), lr=1e-2)
    before = adversarial_margin_hinge(q_net, x, greedy, 0.1, 5, 1.0, None).item()
    for _ in range(100):
        optimizer.zero_grad()
        adversarial_margin_hinge(q_net, x, greedy, 0.1, 5, 1.0, None).backward()
        optimizer.step()
    after = adversarial_margin_hinge(q_net, x, greedy, 0.1, 5, 1.0, None).item()
    assert after < before - 0.5 and after >= -1.0


def test_the_radius_ramps_in_linearly():
    model = StateAdversarialDQN("MlpPolicy", "CartPole-v1", sa_eps=0.1, sa_steps=3, sa_kappa=0.005, sa_hinge=1.0,
                                sa_eps_ramp=1_000, sa_box=None, learning_starts=10)  # fmt: skip
    for steps, eps in ((0, 0.0), (250, 0.025), (1_000, 0.1), (5_000, 0.1)):
        model.num_timesteps = steps
        assert model.eps_now() == pytest.approx(eps)
    model.sa_eps_ramp = 0
    model.num_timesteps = 0
    assert model.eps_now() == 0.1


def test_an_sa_regularized_run_keeps_clean_training_frames_and_selects_on_its_worse_score(tmp_path):
    import rlcert.agents.training as training
    from rlcert.agents.sb3_setup import AdversarialObservations, training_env

    recipe = ZooRecipe("sa", "cartpole5?max_steps=30", "dqn", 256, {"learning_starts": 50}, (8,), eval_every=128,
                       min_score=0, adversarial_eps=0.05, adversarial_method="sa-regularizer",
                       adversarial_ramp=100)  # fmt: skip
    assert not isinstance(training_env(recipe, seed=0), AdversarialObservations)
    plain = ZooRecipe("sa", "cartpole5?max_steps=30", "dqn", 256, {"learning_starts": 50}, (8,), adversarial_eps=0.05)
    assert recipe_fingerprint(recipe) != recipe_fingerprint(plain)  # a PGD run's checkpoint does not resume here
    meta = train_zoo_agent(recipe, tmp_path, final_episodes=4, verbose=False, run_dir=tmp_path / "run")
    settings = {k: meta["training"][k] for k in ("adversarial_method", "sa_kappa", "sa_hinge", "adversarial_ramp")}
    assert settings == {"adversarial_method": "sa-regularizer", "sa_kappa": 0.005, "sa_hinge": 1.0,
                        "adversarial_ramp": 100}  # fmt: skip
    assert meta["evaluation"]["attacked"]["attack"].startswith("FramePGD(eps=0.05, steps=10")
    scored = {"mean_return": 20.0, "attacked": {"mean_return": 7.5}}
    assert training._selection_score(scored) == 7.5
    assert training._selection_score({"mean_return": 5.0, "attacked": {"mean_return": 7.5}}) == 5.0
    assert np.isfinite(meta["evaluation"]["attacked"]["mean_return"])
