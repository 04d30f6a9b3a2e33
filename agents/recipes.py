"""Recipes for the zoo agents: what ``rlcert zoo train NAME`` runs to reproduce each one.

Hyperparameters follow the tuned Stable-Baselines3 settings of rl-baselines3-zoo for each env
(values, not code, carried over); the noise-trained agents add Gaussian augmentation on every raw
frame (Kumar et al. 2022, §5).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from rlcert.reports.errors import InvalidValueError, UnknownNameError

__all__ = ["ZooRecipe", "RECIPES", "recipe"]


@dataclass(frozen=True)
class ZooRecipe:
    name: str
    """Zoo name (folder under agents/zoo)."""
    env: str
    """Env spec the agent is trained and evaluated on."""
    algorithm: str
    """Stable-Baselines3 algorithm: 'dqn' or 'ppo'."""
    timesteps: int
    """Environment steps of training."""
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the SB3 algorithm (``lin_X`` = linear decay from X to 0)."""
    net_arch: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the policy (and Q) network."""
    n_envs: int = 1
    """Parallel training envs."""
    noise_sigma: float = 0.0
    """Gaussian noise per raw frame during training (0 = plain); evaluation also reports the smoothed policy."""
    seed: int = 0
    """Seed of the SB3 model and of its training envs."""
    eval_every: int = 5_000
    """Training steps between model-selection evaluations (100 episodes on seeds disjoint from the final one)."""
    value_range: tuple[float, float] | None = None
    """Range the Q-values can take (reward range / (1 - gamma)); CROP clips smoothed Q-values to it."""
    min_score: float | None = None
    """The mean return the final evaluation must reach (at sigma = 0 for plain agents, smoothed otherwise)."""
    description: str = ""
    network: str = "mlp"
    """'mlp' (hidden sizes from net_arch) or 'atari-cnn' (agents.sb3_setup.AtariCnn)."""
    eval_episodes: int = 100
    """Episodes of each model-selection evaluation."""
    selection_max_steps: int | None = None
    """Agent steps after which a model-selection episode is cut (None: the env's own limit). Breakout: a
    greedy policy that does not press FIRE when no ball is in play never launches one, and its episode
    runs to ALE's 108k-frame cut (27k steps), so one stalled snapshot costs more than the training
    between evaluations. The final evaluation always plays whole episodes."""
    final_episodes: int = 1000
    """Episodes of the final evaluation recorded in meta.json."""
    finalists: int = 1
    """Snapshots with the best selection scores kept to the end, where each is evaluated again with
    ``final_episodes`` episodes and the best of that is picked: the maximum of many short, noisy selection
    evaluations overstates the snapshot it picks (greedy Atari play varies a lot between episodes)."""
    checkpoint_every: int = 0
    """Training steps between resumable checkpoints (0: at every selection evaluation). Each checkpoint
    also restarts the training envs, so that a resumed run is the uninterrupted one (agents.training)."""
    also_evaluate: tuple[str, ...] = ()
    """Further env specs the final policy is evaluated on (e.g. pong-1round), recorded in meta.json."""
    twin: str | None = None
    """For a noise-trained agent, its plain twin (its σ = 0 score must stay within 25 % of the twin's)."""
    init_from: str | None = None
    """Zoo agent whose weights start the training (a warm start; a PPO's value head starts fresh)."""
    adversarial_eps: float = 0.0
    """PGD adversarial training (Madry et al. 2018; for DQN/PPO agents Zhang et al. 2020, §6): every observation
    the agent trains on has its newest frame moved by untargeted l-inf PGD of this radius against the current
    policy's greedy action (0 = plain). The final evaluation also records the score under that attack."""
    adversarial_steps: int = 3
    """PGD steps of each training perturbation (the evaluation attack uses 10)."""
    adversarial_method: str = "pgd"
    """How ``adversarial_eps`` is trained against: ``pgd`` (the training observations themselves are attacked,
    Madry et al.) or ``sa-regularizer`` (DQN only: clean TD targets plus SA-DQN's hinge on the greedy action's
    margin at a PGD-attacked replay state, Zhang et al. 2020 §3.3; ``rlcert.agents.sa_dqn``)."""
    sa_kappa: float = 0.005
    """Weight κ of SA-DQN's regularizer (``sa-regularizer`` only; SA-DQN's Atari value)."""
    sa_hinge: float = 1.0
    """Margin c of SA-DQN's hinge (``sa-regularizer`` only; SA-DQN's Atari value)."""
    adversarial_ramp: int = 0
    """Training steps over which the radius grows linearly from 0 to ``adversarial_eps`` (``sa-regularizer``
    only; 0: the full radius from the start)."""
    evaluation_actions: str = "greedy"
    """How selection and the recorded score pick actions: ``greedy`` (the argmax, what certificates reason
    about) or ``sampled`` (a PPO policy's own action distribution, seeded; the protocol rl-baselines3-zoo
    uses for Atari and the one the PPO paper's scores come from). A sampled agent's meta.json records its
    greedy score as well."""

    def __post_init__(self) -> None:
        if self.selection_max_steps is not None and self.selection_max_steps < 1:
            raise InvalidValueError(
                f"selection_max_steps must be a positive number of steps, got {self.selection_max_steps}"
            )
        if self.finalists < 1:
            raise InvalidValueError(f"finalists must be at least 1, got {self.finalists}")
        if self.network not in ("mlp", "atari-cnn"):
            raise InvalidValueError(f"network must be 'mlp' or 'atari-cnn', got {self.network!r}")
        if self.algorithm not in ("dqn", "ppo"):
            raise InvalidValueError(f"algorithm must be 'dqn' or 'ppo', got {self.algorithm!r}")
        if self.evaluation_actions not in ("greedy", "sampled"):
            raise InvalidValueError(
                f"evaluation_actions must be 'greedy' or 'sampled', got {self.evaluation_actions!r}"
            )
        if self.adversarial_eps < 0 or self.adversarial_steps < 1:
            raise InvalidValueError(
                f"adversarial_eps must be >= 0 and adversarial_steps >= 1, got {self.adversarial_eps}, "
                f"{self.adversarial_steps}"
            )
        if self.adversarial_method not in ("pgd", "sa-regularizer"):
            raise InvalidValueError(
                f"adversarial_method must be 'pgd' or 'sa-regularizer', got {self.adversarial_method!r}"
            )
        if self.adversarial_method == "sa-regularizer" and self.algorithm != "dqn":
            raise InvalidValueError("adversarial_method='sa-regularizer' needs a DQN agent (it regularizes Q-values)")
        if self.sa_kappa <= 0 or self.sa_hinge <= 0 or self.adversarial_ramp < 0:
            raise InvalidValueError(
                f"sa_kappa and sa_hinge must be > 0 and adversarial_ramp >= 0, got {self.sa_kappa}, "
                f"{self.sa_hinge}, {self.adversarial_ramp}"
            )
        if self.adversarial_ramp > 0 and self.adversarial_method != "sa-regularizer":
            raise InvalidValueError("adversarial_ramp applies to adversarial_method='sa-regularizer' only")
        if self.adversarial_eps > 0 and self.noise_sigma > 0:
            raise InvalidValueError("a recipe trains under noise or under PGD, not both")
        if self.evaluation_actions == "sampled" and self.algorithm != "ppo":
            raise InvalidValueError("evaluation_actions='sampled' needs a PPO agent (a DQN has no action distribution)")


_CARTPOLE_DQN = {
    "learning_rate": 2.3e-3, "batch_size": 64, "buffer_size": 100_000, "learning_starts": 1_000, "gamma": 0.99,
    "target_update_interval": 10, "train_freq": 256, "gradient_steps": 128, "exploration_fraction": 0.16,
    "exploration_final_eps": 0.04,
}  # fmt: skip
# Noise makes CartPole-5 partially observed: the fast settings above oscillate there, so the
# noise-trained DQNs learn slower, with a larger buffer and a slowly moving target network.
_NOISY_DQN = {
    "learning_rate": 1e-4, "batch_size": 64, "buffer_size": 200_000, "learning_starts": 5_000, "gamma": 0.99,
    "target_update_interval": 2_000, "train_freq": 4, "gradient_steps": 1, "exploration_fraction": 0.1,
    "exploration_final_eps": 0.01,
}  # fmt: skip
_NOISY_PPO = {
    "n_steps": 256, "batch_size": 256, "gamma": 0.99, "gae_lambda": 0.95, "n_epochs": 10, "ent_coef": 0.0,
    "learning_rate": 3e-4, "clip_range": 0.2,
}  # fmt: skip
_CARTPOLE_PPO = {
    "n_steps": 32, "batch_size": 256, "gamma": 0.98, "gae_lambda": 0.8, "n_epochs": 20, "ent_coef": 0.0,
    "learning_rate": "lin_0.001", "clip_range": "lin_0.2",
}  # fmt: skip
# Pendulum: rl-baselines3-zoo's PPO settings with generalized state-dependent exploration (gSDE, Raffin et al.
# 2022), without its VecNormalize (the zoo's stored policy is the plain network, and gamma = 0.9 keeps the
# returns small): a first run reached -191 greedy at 100k steps in 32 s on one core.
_PENDULUM_PPO = {
    "n_steps": 1024, "gae_lambda": 0.95, "gamma": 0.9, "n_epochs": 10, "ent_coef": 0.0, "learning_rate": 1e-3,
    "clip_range": 0.2, "use_sde": True, "sde_sample_freq": 4,
}  # fmt: skip
_MOUNTAINCAR_DQN = {
    "learning_rate": 4e-3, "batch_size": 128, "buffer_size": 10_000, "learning_starts": 1_000, "gamma": 0.98,
    "target_update_interval": 600, "train_freq": 16, "gradient_steps": 8, "exploration_fraction": 0.2,
    "exploration_final_eps": 0.07,
}  # fmt: skip


def _noise_note(sigma: float) -> str:
    return f"trained with N(0, {sigma}^2) noise on every raw frame"


_CLASSIC = [
    ZooRecipe("cartpole5-dqn", "cartpole5", "dqn", 100_000, _CARTPOLE_DQN, (256, 256), min_score=190,
              value_range=(0.0, 100.0), description="DQN, CartPole-v0 with 5 stacked frames, plain training"),
    ZooRecipe("cartpole5-dqn-sigma0.2", "cartpole5", "dqn", 400_000, _NOISY_DQN, (256, 256), noise_sigma=0.2,
              eval_every=10_000, min_score=190, value_range=(0.0, 100.0),
              description=f"DQN, CartPole-5, {_noise_note(0.2)}"),
    ZooRecipe("cartpole5-dqn-sigma0.4", "cartpole5", "dqn", 400_000, _NOISY_DQN, (256, 256), noise_sigma=0.4,
              eval_every=10_000, min_score=150, value_range=(0.0, 100.0),
              description=f"DQN, CartPole-5, {_noise_note(0.4)}"),
    ZooRecipe("cartpole5-ppo-sigma0.2", "cartpole5", "ppo", 300_000, _NOISY_PPO, (256, 256), n_envs=8,
              noise_sigma=0.2, eval_every=10_000, min_score=195, description=f"PPO, CartPole-5, {_noise_note(0.2)}"),
    ZooRecipe("cartpole5-ppo-sigma0.4", "cartpole5", "ppo", 300_000, _NOISY_PPO, (256, 256), n_envs=8,
              noise_sigma=0.4, eval_every=10_000, min_score=180, description=f"PPO, CartPole-5, {_noise_note(0.4)}"),
    ZooRecipe("cartpole-ppo", "CartPole-v1", "ppo", 100_000, _CARTPOLE_PPO, (64, 64), n_envs=8, min_score=475,
              description="PPO, CartPole-v1"),
    ZooRecipe("mountaincar-dqn", "MountainCar-v0", "dqn", 120_000, _MOUNTAINCAR_DQN, (256, 256), eval_every=10_000,
              min_score=-130, value_range=(-50.0, 0.0), description="DQN, MountainCar-v0 (discrete actions)"),
    # The continuous-control expert the Lipschitz imitation learns from (training.lipschitz_imitation).
    ZooRecipe("pendulum-ppo", "Pendulum-v1", "ppo", 150_000, _PENDULUM_PPO, (64, 64), n_envs=4, eval_every=10_000,
              min_score=-250, description="PPO with gSDE, Pendulum-v1 (continuous torque)"),
]  # fmt: skip
# The classic-control agents train in minutes, in one segment: checkpointed only at the end, so their
# training envs run uninterrupted as when the committed agents were made. A checkpoint restarts the
# training envs (agents.training_checkpoint), which changes the run, and cartpole5-dqn is sensitive to
# that: one run with restarts every 5k steps found no snapshot better than 175, below its minimum of 190,
# where one segment reaches 200. Ctrl-C during one of these runs starts it again.
_ALL = [replace(r, checkpoint_every=r.timesteps) for r in _CLASSIC]
# Atari: PPO with the rl-baselines3-zoo Atari settings (8 envs, 128 steps, 4 epochs, clip 0.1 decaying).
_ATARI_PPO = {
    "n_steps": 128, "batch_size": 256, "n_epochs": 4, "learning_rate": "lin_2.5e-4", "clip_range": "lin_0.1",
    "vf_coef": 0.5, "ent_coef": 0.01, "gamma": 0.99, "gae_lambda": 0.95,
}  # fmt: skip


# Atari DQN: the rl-baselines3-zoo Atari settings. Freeway is trained with DQN: a uniformly random
# policy never scores there (the chicken needs P(UP) well above 1/3 to cross), so PPO, whose initial
# policy is uniform and whose entropy bonus keeps it so while every reward is zero, never sees a reward;
# the initial Q-network's greedy action is nearly constant, so epsilon-greedy DQN crosses early.
# Replay storage: see agents.sb3_setup.HalfPrecisionNStepReplayBuffer (Freeway has no lives and never
# reaches the 108k-frame truncation, so timeouts need no special handling there).
# Two changes for a 1.5M-step budget instead of rl-zoo's 10M, after a first run with the rl-zoo values
# stalled at the always-up score (~22) from 200k to 700k steps: epsilon decays over a third of the
# budget (rl-zoo's 10 % of 10M is 1M steps of exploration; 10 % of 1.5M left 150k, after which the
# near-greedy agent, pressing UP almost always, gathered little data on what waiting is worth), and
# 3-step returns (Hessel et
# al. 2018, "multi-step learning") carry a crossing's reward back over its ~90 steps faster.
_ATARI_DQN = {
    "buffer_size": 100_000, "learning_rate": 1e-4, "batch_size": 32, "learning_starts": 100_000,
    "target_update_interval": 1_000, "train_freq": 4, "gradient_steps": 1, "exploration_fraction": 0.33,
    "exploration_final_eps": 0.01, "optimize_memory_usage": False,
    "replay_buffer_kwargs": {"handle_timeout_termination": False, "n_steps": 3, "gamma": 0.99},
}  # fmt: skip


def _atari(name: str, env: str, timesteps: int, min_score: float, sigma: float = 0.0, algorithm: str = "ppo",
           changed: dict[str, Any] | None = None, **extra: Any) -> ZooRecipe:  # fmt: skip
    """An Atari recipe with the shared settings of its algorithm, ``changed`` overriding some of them."""
    game = env.split("-")[0].capitalize()
    noise = f", {_noise_note(sigma)}" if sigma else ""
    grey_levels = f"{extra.get('adversarial_eps', 0) * 255:g}/255"
    if extra.get("adversarial_eps") and extra.get("adversarial_method") == "sa-regularizer":
        noise += f", SA-DQN regularizer (PGD solver, l-inf eps {grey_levels} on the frame stack)"
    elif extra.get("adversarial_eps"):
        noise += f", PGD adversarial training (l-inf eps {grey_levels} on each new frame)"
    hyperparameters, n_envs = (_ATARI_PPO, 8) if algorithm == "ppo" else (_ATARI_DQN, 1)
    hyperparameters = hyperparameters | (changed or {})
    return ZooRecipe(
        name, env, algorithm, timesteps, hyperparameters, (), n_envs=n_envs, noise_sigma=sigma,
        eval_every=extra.pop("eval_every", 100_000), min_score=min_score, network="atari-cnn", eval_episodes=8,
        final_episodes=30, finalists=3,
        description=f"{algorithm.upper()}, {game} (ALE v5, no sticky actions, standard preprocessing){noise}", **extra,
    )  # fmt: skip


_ALL += [
    _atari("pong-ppo", "pong", 6_500_000, 15, also_evaluate=("pong-1round",)),
    # Freeway: 1.5M at first; set to 800k at 800k steps, where greedy selection had passed the minimum
    # (24.1, 28.8, 30.4, 31.6 at 500k-800k; training games 31 with epsilon at its final 0.01) and the two
    # noise-trained twins needed this CPU.
    _atari("freeway-dqn", "freeway", 800_000, 25, algorithm="dqn", also_evaluate=("freeway-250",)),
    # Breakout: 2.5M at first; raised to 5M at 1.2M steps, where training games averaged 16 and rose
    # ~1.5 points per 100k steps (the minimum, 100, was out of reach of the first budget); raised to 7M at
    # 4.4M, where greedy selection had stayed at 60-83 since 3.3M and training games rose ~7 per 1M steps.
    _atari("breakout-ppo", "breakout", 7_000_000, 100, selection_max_steps=5_000),
    # Boxing: 2.5M at first; raised to 5M at 1.5M steps, where training games were still at the random
    # level (+1 to +3): a random boxer lands a punch about once every 70 steps, so the signal is sparse;
    # raised to 10M (the PPO paper's own horizon, 40M frames) at 2.7M, where greedy selection had stayed
    # at -5..+3 since 1.7M and training games at +2..+4, with the learning rate annealed to half; set to
    # 7M at 5.2M, after the take-off (greedy selection 30-70 since 4.1M, training games 13 at 3.4M and
    # 32 at 4.4M), so that the learning rate anneals to zero within the compute this agent could get.
    _atari("boxing-ppo", "boxing", 7_000_000, 50),
    # Gopher: 2M at first; raised to 5M at 1.8M steps, where the sampled policy scored ~850 and the greedy
    # one 20-440 (8 selection games): under-trained, not mis-set. Greedy selection games are capped at
    # 5,000 steps because a greedy policy that does not press a FIRE action after losing a carrot stalls
    # the game until the 27,000-step limit (the game waits for FIRE), which made each selection cost more
    # than the 100k training steps before it.
    # Its score is that of the sampled policy (rl-baselines3-zoo's Atari protocol, and what the PPO paper's
    # scores, which the minimum halves, measure). Greedy selection picked the 3.8M snapshot, which played
    # 759 +- 44 greedy (30 games, seed 0) and ~1,040 sampled: greedy Gopher repeats one losing pattern where
    # sampling varies, and after a lost carrot waits for a FIRE action the argmax may never pick. The
    # greedy-selected finalists were then re-evaluated sampled (3.8M 919, 3.7M 885, 3.5M 1145); the 3.5M one
    # shipped. meta.json records its greedy score too.
    _atari("gopher-ppo", "gopher", 5_000_000, 1_000, selection_max_steps=5_000, evaluation_actions="sampled"),
    # BankHeist: a car that stands still is never caught and never runs out of fuel (6,000 NOOP steps
    # lose no life), so a greedy snapshot that stops moving plays to the 27,000-step cut: capped as above.
    # Budget 2.5M at first; raised to 5M at 1.2M steps, where training games had sat at ~33 (a random
    # car scores ~14) since 600k and greedy selection was at 15-47: far from 500, like Boxing's plateau;
    # back to 2.5M at 1.7M, after the take-off (training games 46 at 1.3M, 849 at 1.5M; greedy selection
    # 921 and 948 at 1.5M and 1.6M): the minimum was in reach and the other agents needed the CPU.
    _atari("bankheist-ppo", "bankheist", 2_500_000, 500, selection_max_steps=5_000),
    # The noise-trained twins start from their plain twin's weights and go on training with noise on
    # every frame, planned to cost a third of training from scratch (Pong from scratch took 6.5M steps,
    # about five hours): Freeway's did (500k steps), Pong's did not (6M, below). What ships is a policy
    # trained under the noise it is smoothed with. meta.json names the starting agent.
    # pong-ppo-sigma0.1: 2M at first; raised to 4M at 1.4M steps, where the smoothed selection score had
    # climbed from -14 (600k, just after the switch to noisy frames) to -8 (1.4M), about +1.5 per 200k:
    # the noise undid most of what the plain twin knew. Raised to 6M at 1.9M (smoothed -6.6): it kept
    # climbing at only ~+0.6 per 100k, too slowly to reach 15 by 4M, and a longer linear schedule also
    # keeps the learning rate and clip range higher (0.68 of their start at 1.9M instead of 0.53).
    _atari("pong-ppo-sigma0.1", "pong", 6_000_000, 15, 0.1, also_evaluate=("pong-1round",), twin="pong-ppo",
           init_from="pong-ppo"),
    # freeway-dqn-sigma0.1 starts from a policy that already crosses: exploring from epsilon = 1 (the
    # from-scratch schedule) would fill the first buffer with play that policy never makes, so epsilon
    # starts at 0.1 and reaches 0.01 as the first buffer fills (a fifth of the 500k steps).
    _atari("freeway-dqn-sigma0.1", "freeway", 500_000, 25, 0.1, "dqn", also_evaluate=("freeway-250",),
           twin="freeway-dqn", init_from="freeway-dqn",
           changed={"exploration_initial_eps": 0.1, "exploration_fraction": 0.2}),
    # The robust twin of the instability comparison (Korkmaz 2024 compares vanilla DDQN with SA-DDQN): SA-DQN's
    # regularizer (Zhang et al. 2020, §3.3, PGD solver; agents.sa_dqn) at one grey level (eps = 1/255, SA-DQN's
    # Atari radius), kappa 0.005 and hinge 1 as SA-DQN sets them for Atari, eps ramped in over the first 100k
    # steps, warm-started from freeway-dqn with the sigma twin's exploration and SA-DQN's learning rate.
    # Plain PGD adversarial training (the observations the agent trains on attacked) was tried first and
    # collapsed twice: with the plain settings (learning rate 1e-4, gradient steps from 100k) the selection
    # score was 31.9 at 100k (still the starting weights) and 0.0 at 200k; with learning rate 2.5e-5 and
    # gradient steps from 20k, 0.12 at 100k. Its TD targets came from attacked play; SA-DQN keeps them clean
    # and widens the greedy action's margin instead. Selection (agents.training) scores each snapshot by the
    # lower of its clean and attacked returns.
    _atari("freeway-dqn-sa", "freeway", 200_000, 25, algorithm="dqn", also_evaluate=("freeway-250",),
           twin="freeway-dqn", init_from="freeway-dqn", adversarial_eps=1 / 255, adversarial_method="sa-regularizer",
           adversarial_ramp=100_000, eval_every=50_000,
           changed={"exploration_initial_eps": 0.1, "exploration_fraction": 0.2, "learning_rate": 6.25e-5,
                    "learning_starts": 20_000}),
]  # fmt: skip
RECIPES: dict[str, ZooRecipe] = {r.name: r for r in _ALL}


def recipe(name: str) -> ZooRecipe:
    if name not in RECIPES:
        raise UnknownNameError(f"no zoo recipe named {name!r}; recipes: {', '.join(RECIPES)}")
    return RECIPES[name]
