"""STORI's Atari-specific probes: random RAM events (type 2.1) and missing state variables (type 3.2).

STORI (Barsainyan et al. 2025, arXiv 2509.01793, §3) perturbs unmodified ALE games through wrappers:
type 2.1 edits the game's RAM at random moments (a brick hit undone, the car teleported to another
city), type 3.2 hides part of what the agent sees (half the screen, all but a torch-lit circle,
game-specific rectangles, or objects made invisible by a RAM edit). The per-game facts (addresses,
rectangles) are in ``rlcert.envs.stori_games``, the event rules in ``rlcert.envs.stori_events``; the env-agnostic
types 1 and 2.2 are in ``rlcert.envs.generic_probes``; :func:`stori_profiles` puts the paper's per-game
profiles together.

Unlike STORI, every random draw comes from the probe's own seeded generator (``np_random``), so the same
seed reproduces the same perturbed episode.
"""

from __future__ import annotations

import re
from typing import Any, SupportsFloat

import ale_py
import cv2
import gymnasium as gym
import numpy as np

from rlcert.attacks.base import Probe
from rlcert.envs.generic_probes import check_probability
from rlcert.envs.probes import ProbeStack
from rlcert.envs.stori_events import RANDOM_EVENTS, EventRule
from rlcert.envs.stori_games import ALE_SCREEN_SHAPE, BLACKOUT_REGIONS, OBJECT_HIDES, Region
from rlcert.reports.errors import InvalidValueError, UnsupportedInputError

__all__ = [
    "STORI_GAMES",
    "RandomEvents",
    "MissingStateVariables",
    "atari_game",
    "random_event_modes",
    "missing_state_modes",
    "stori_profiles",
]

STORI_GAMES = ("breakout", "boxing", "gopher", "bankheist")
"""The games of the paper; Pong and Freeway have rlcert's own events and hides."""

SCREEN_ROWS, SCREEN_COLS = ALE_SCREEN_SHAPE


def _game_key(name: str) -> str:
    """``"ALE/BankHeist-v5"``, ``"bank_heist"``, ``"BankHeistNoFrameskip-v4"`` → ``"bankheist"``."""
    key = re.sub(r"-v\d+$", "", name.removeprefix("ALE/")).lower().replace("_", "").replace("-", "")
    return re.sub(r"(noframeskip|deterministic)$", "", key)


def atari_game(env: gym.Env) -> str:
    """The ALE game ``env`` runs (``"breakout"``, ``"bankheist"``, ...); a TypeError for any other env."""
    unwrapped = env.unwrapped
    if not isinstance(getattr(unwrapped, "ale", None), ale_py.ALEInterface):
        raise UnsupportedInputError(
            f"STORI's Atari probes need an ALE game (an ale_py AtariEnv such as make_raw_env('breakout')), got {env}"
        )
    spec = getattr(unwrapped, "spec", None)
    return _game_key(spec.id if spec is not None else str(getattr(unwrapped, "_game", "")))


def _listing(table: dict[str, Any]) -> str:
    return ", ".join(sorted(table))


def random_event_modes(game: str) -> dict[str, float]:
    """The type 2.1 event modes of ``game`` with their default probabilities; empty for games without any."""
    return {mode: rule.default_p for mode, rule in RANDOM_EVENTS.get(_game_key(game), {}).items()}


def missing_state_modes(game: str) -> tuple[str, ...]:
    """The type 3.2 modes that work on ``game``: crops and torch on any Atari game, plus blackout and
    hide_objects where rlcert has the game's rectangles or RAM hides."""
    key = _game_key(game)
    modes = MissingStateVariables.SCREEN_MODES
    if key in BLACKOUT_REGIONS:
        modes += ("blackout",)
    if key in OBJECT_HIDES:
        modes += ("hide_objects",)
    return modes


class RandomEvents(Probe):
    """STORI type 2.1 (action-independent random events): game-specific RAM edits on emulator frames.

    Barsainyan et al. (2025, §3, type 2.1) make deterministic Atari games stochastic with events that
    the agent's actions neither cause nor prevent. Each emulator frame the event fires with probability
    ``p`` (default: STORI's, see ``random_event_modes``); events tied to something happening (a brick
    hit, a hole filled, dynamite dropped, a bank robbed) act only on the frame where it happens. Modes:

    * Breakout: ``hit_cancelled`` (p 0.25: the brick stays, the hit pays nothing; the score on screen
      still counts it), ``hit_cancelled_keep_reward``, ``brick_regenerated`` (one knocked-out brick returns);
    * Boxing: ``colour_swap`` (p 0.001: the boxers swap colours until the next swap),
      ``hit_cancelled`` (a point is not counted), ``displace_to_corners`` (each boxer to the other's corner);
    * Gopher: ``hole_not_filled`` (p 0.3: a shovelful of the farmer fills nothing and pays nothing),
      ``hole_not_filled_keep_reward``, ``carrot_removed`` (once per episode, never the last carrot);
    * BankHeist: ``teleport`` (p 0.001: to another city's map), ``dud_bomb``, ``fuel_leak``, ``empty_bank``;
    * Pong (rlcert's): ``ball_reversed`` (the ball turns back towards the hitter), ``ball_deflected``;
    * Freeway (rlcert's): ``knocked_back`` (the chicken returns to the kerb).

    It wraps the ALE game *below* frame skipping (``level = "emulator"``); build it through
    ``ProbeStack.wrap_emulator`` or ``make_raw_env(..., wrap_emulator=...)``. The RAM is read only when
    an event fires, so the cost is about one random draw per frame. ``info["random_events"]`` counts
    the events of the episode so far. With ``enabled = False`` it steps the game untouched (a Boxing
    colour swap ends with it).

    Limits: the rules are the ones rlcert checked on ALE 0.12 (``rlcert.envs.stori_events`` says where they
    differ from STORI's code); the displayed score is not rewound where the ALE would pay a negative
    reward for it. STORI measured agents trained in the perturbed game; rlcert measures a fixed policy.

    Example:
        >>> from rlcert.envs.factory import make_raw_env
        >>> env = make_raw_env("freeway", wrap_emulator=lambda game: RandomEvents(game, "knocked_back", p=0.01))
        >>> _ = env.reset(seed=0)
        >>> infos = [env.step(1)[-1] for _ in range(200)]  # always UP
        >>> infos[-1]["random_events"] > 0  # the chicken was sent back to the kerb
        True
    """

    level = "emulator"

    PARAMETERS = {
        "game_mode": "one of the game's modes (Breakout, Boxing, Gopher, BankHeist; listed above)",
        "p": "probability in [0, 1] per emulator frame (default: STORI's for the mode)",
    }

    def __init__(self, env: gym.Env, game_mode: str, p: float | None = None):
        self.validate(game_mode=game_mode, p=p)
        game = atari_game(env)
        if game not in RANDOM_EVENTS:
            raise InvalidValueError(
                f"RandomEvents has no events for {game!r}; games with events: {_listing(RANDOM_EVENTS)}"
            )
        if game_mode not in RANDOM_EVENTS[game]:
            raise InvalidValueError(
                f"{game} has no random event {game_mode!r}; its events: {_listing(RANDOM_EVENTS[game])}"
            )
        if getattr(env.unwrapped, "_frameskip", None) != 1 or _find_preprocessing(env) is not None:
            raise InvalidValueError(
                "RandomEvents acts on single emulator frames: wrap the ALE game made with frameskip=1, below "
                "the preprocessing (make_raw_env(spec, wrap_emulator=...) or ProbeStack.wrap_emulator)"
            )
        super().__init__(env, game_mode=game_mode, p=p)
        self.game, self.game_mode = game, game_mode
        self.rule: EventRule = RANDOM_EVENTS[game][game_mode]
        self.p = self.rule.default_p if p is None else float(p)
        self.ale: ale_py.ALEInterface = env.unwrapped.ale
        self.episode: dict[str, Any] = {}
        self.events_this_episode = 0
        self.owed_reward = 0.0  # paid on the next frame, when the ALE reports a rewound score (Boxing)

    @classmethod
    def validate(cls, game_mode: str, p: float | None = None) -> None:
        if p is not None:
            check_probability("p", p)
        if not any(game_mode in rules for rules in RANDOM_EVENTS.values()):
            per_game = "; ".join(f"{game}: {_listing(rules)}" for game, rules in RANDOM_EVENTS.items())
            raise InvalidValueError(f"unknown game_mode {game_mode!r}; modes per game: {per_game}")

    def fires(self) -> bool:
        """One Bernoulli(p) draw from the seeded generator."""
        return self.np_random.random() < self.p

    def count_event(self) -> None:
        self.events_this_episode += 1

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = super().reset(seed=seed, options=options)
        self.episode, self.events_this_episode, self.owed_reward = {}, 0, 0.0
        if self.rule.on_reset is not None:
            self.rule.on_reset(self)
        return obs, {**info, "random_events": 0}

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        owed, self.owed_reward = self.owed_reward, 0.0
        if self.enabled:
            obs, reward, terminated, truncated, info = self.rule.step(self, action)
        else:
            if self.rule.on_disable is not None:
                self.rule.on_disable(self)
            obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward + owed, terminated, truncated, {**info, "random_events": self.events_this_episode}


# The paper's choice of rectangles and hides where it used them (Exp_configs.json: Breakout blackout
# mode 10, Boxing blackout mode 9 and RAM mode 2, Gopher blackout mode 6, BankHeist RAM mode 3), else ours.
DEFAULT_TARGETS = {
    "blackout": {"breakout": "ball_missing_top_and_bottom", "boxing": "scores_and_clock",
                 "gopher": "underground_offset", "bankheist": "all"},
    "hide_objects": {"breakout": "ball", "boxing": "enemy", "gopher": "carrots", "bankheist": "city_blocks",
                     "pong": "ball", "freeway": "chicken"},
}  # fmt: skip


def _frame_slices(region: Region, frame_shape: tuple[int, int]) -> tuple[slice, slice]:
    """The frame pixels whose source area (under a full-screen resize) overlaps ``region`` at all."""
    rows, cols = frame_shape
    top, left = region.min_y * rows // SCREEN_ROWS, region.min_x * cols // SCREEN_COLS
    bottom = -(-(region.max_y + 1) * rows // SCREEN_ROWS)  # ceiling division, exact in integers
    right = -(-(region.max_x + 1) * cols // SCREEN_COLS)
    return slice(top, bottom), slice(left, right)


def _find_preprocessing(env: gym.Env) -> gym.wrappers.AtariPreprocessing | None:
    current = env
    while isinstance(current, gym.Wrapper):
        if isinstance(current, gym.wrappers.AtariPreprocessing):
            return current
        current = current.env
    return None


class MissingStateVariables(Probe):
    """STORI type 3.2 (missing state variables): with probability ``p`` per agent step, part of the frame
    the agent sees is hidden.

    Barsainyan et al. (2025, §3, type 3.2) hide state variables from the screen. Modes:

    * ``crop_left`` / ``crop_right`` / ``crop_top`` / ``crop_bottom``: that half of the frame is black;
    * ``torch``: everything outside a circle of radius 75 ALE pixels is black. As in STORI the centre is
      drawn uniformly over the 210x160 screen each time (STORI does not follow the player). On the 84x84
      frame the circle is an ellipse (the resize squeezes rows by 2.5 and columns by 1.9);
    * ``blackout``: STORI's rectangles for ``target`` are painted over, in STORI's fill colours (black,
      or the background they sit on) converted to ALE grayscale. A frame pixel is painted when its source
      area overlaps the rectangle at all. Targets per game: ``rlcert.envs.stori_games.BLACKOUT_REGIONS``;
    * ``hide_objects``: the object ``target`` is made invisible by a RAM edit: the emulator state
      (RNG included) is cloned, the RAM edited, one NOOP frame emulated and its screen grabbed, the
      state restored, and the screen preprocessed as ``AtariPreprocessing`` does (grayscale, INTER_AREA
      resize, /255). The game goes on exactly as if nothing happened. Targets per game:
      ``rlcert.envs.stori_games.OBJECT_HIDES``; where the object is absent the frame is left alone.

    ``target`` defaults to the paper's choice for the game (Breakout: ``ball_missing_top_and_bottom`` /
    ``ball``; Boxing: ``scores_and_clock`` / ``enemy``; Gopher: ``underground_offset`` / ``carrots``;
    BankHeist: ``all`` / ``city_blocks``). ``info["observation_altered"]`` says whether this frame was
    changed and ``info["hidden_pixels"]`` which pixels were hidden (a boolean frame; for ``hide_objects``
    only with ``exact_mask=True``, which emulates the frame a second time without the edit and compares,
    else None).

    Limits: the probe masks the agent's 84x84 frame once per agent step; STORI masks every emulator frame
    and then max-pools the last two (its STORM pipeline). For fixed masks that is the same; STORI's torch
    draws a centre per frame, so its pooled frame shows two lit circles where this one shows one. The
    hidden-object frame is the next emulator frame (STORI's choice too), one frame ahead of the rest.
    It needs 2-D grayscale frames of a full ALE screen (``make_raw_env``'s Atari preprocessing).

    Example:
        >>> from rlcert.envs.factory import make_raw_env
        >>> env = MissingStateVariables(make_raw_env("breakout"), mode="crop_left", p=1.0)
        >>> obs, info = env.reset(seed=0)
        >>> bool(obs[:, :42].any()), info["observation_altered"]
        (False, True)
    """

    level = "agent"
    SCREEN_MODES = ("crop_left", "crop_right", "crop_top", "crop_bottom", "torch")
    MODES = (*SCREEN_MODES, "blackout", "hide_objects")
    TORCH_RADIUS = 75.0
    """STORI's torch radius, in ALE screen pixels."""

    PARAMETERS = {
        "mode": "crop_left, crop_right, crop_top, crop_bottom, torch, blackout or hide_objects",
        "p": "probability in [0, 1] per agent step that the frame is masked",
        "target": "what blackout or hide_objects hides, per game (default: the paper's choice)",
        "exact_mask": "true or false: hide_objects also reports exactly which pixels were hidden (slower)",
    }

    def __init__(self, env: gym.Env, mode: str, p: float, target: str | None = None, exact_mask: bool = False):
        self.validate(mode=mode, p=p, target=target, exact_mask=exact_mask)
        space = env.observation_space
        if not (isinstance(space, gym.spaces.Box) and len(space.shape) == 2):
            raise UnsupportedInputError(
                f"MissingStateVariables needs 2-D grayscale frames of an Atari screen (make_raw_env's preprocessing), "
                f"got observation space {space}"
            )
        resolved_target = self._resolve_target(env, mode, target) if mode in ("blackout", "hide_objects") else None
        super().__init__(env, mode=mode, p=p, target=target, exact_mask=exact_mask)
        self.mode, self.p, self.target, self.exact_mask = mode, float(p), resolved_target, bool(exact_mask)
        self.frame_shape: tuple[int, int] = tuple(space.shape)
        # Pixel values in [0, 1] after AtariPreprocessing's scaling, else 0..255.
        self._scaled_frames = np.issubdtype(space.dtype, np.floating)
        self._no_pixels = np.zeros(self.frame_shape, dtype=bool)
        self._no_pixels.flags.writeable = False
        if mode == "torch":
            rows, cols = self.frame_shape
            # Each frame pixel's centre in ALE screen pixel-index units (pixel k spans [k, k + 1)).
            self._screen_y = ((np.arange(rows) + 0.5) * SCREEN_ROWS / rows - 0.5)[:, None]
            self._screen_x = ((np.arange(cols) + 0.5) * SCREEN_COLS / cols - 0.5)[None, :]
        elif mode == "hide_objects":
            self._setup_hiding(env)
        else:
            self._fixed_mask, self._fill = self._fixed_mask_and_fill()

    @classmethod
    def validate(cls, mode: str, p: float, target: str | None = None, exact_mask: bool = False) -> None:
        if mode not in cls.MODES:
            raise InvalidValueError(f"unknown mode {mode!r}; modes: {', '.join(cls.MODES)}")
        check_probability("p", p)
        if target is not None and mode not in ("blackout", "hide_objects"):
            raise InvalidValueError(f"target names what blackout or hide_objects hides; mode {mode!r} takes none")
        if target is not None and not isinstance(target, str):
            raise InvalidValueError(f"target must be a name such as 'ball', got {target!r}")
        if exact_mask and mode != "hide_objects":
            raise InvalidValueError(
                f"exact_mask is for mode 'hide_objects' (the other masks are always exact), got {mode!r}"
            )

    @staticmethod
    def _resolve_target(env: gym.Env, mode: str, target: str | None) -> str:
        game = atari_game(env)
        table = BLACKOUT_REGIONS if mode == "blackout" else OBJECT_HIDES
        if game not in table:
            raise InvalidValueError(f"{mode} has no tables for {game!r}; games: {_listing(table)}")
        target = DEFAULT_TARGETS[mode][game] if target is None else target
        if target not in table[game]:
            raise InvalidValueError(f"{game} has no {mode} target {target!r}; its targets: {_listing(table[game])}")
        return target

    def _fixed_mask_and_fill(self) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = self.frame_shape
        mask = np.zeros(self.frame_shape, dtype=bool)
        fill = np.zeros(self.frame_shape, dtype=self.observation_space.dtype)
        # STORI halves the 210x160 screen (80 columns, 105 rows), exactly half the frame too.
        halves = {"crop_left": np.s_[:, : cols // 2], "crop_right": np.s_[:, cols // 2 :],
                  "crop_top": np.s_[: rows // 2, :], "crop_bottom": np.s_[rows // 2 :, :]}  # fmt: skip
        if self.mode in halves:
            mask[halves[self.mode]] = True
        else:  # blackout: later rectangles paint over earlier ones, as in STORI
            for region in BLACKOUT_REGIONS[atari_game(self.env)][self.target]:
                area = _frame_slices(region, self.frame_shape)
                mask[area] = True
                fill[area] = self._in_frame_units(region.fill_gray)
        mask.flags.writeable = False
        return mask, fill

    def _in_frame_units(self, gray: int) -> np.ndarray:
        # As AtariPreprocessing scales (float32 / 255), so a painted area matches the colour it imitates.
        return np.asarray(gray, dtype=np.float32) / 255.0 if self._scaled_frames else np.asarray(gray, dtype=np.uint8)

    def _setup_hiding(self, env: gym.Env) -> None:
        preprocessing = _find_preprocessing(env)
        if preprocessing is None or not preprocessing.grayscale_obs or preprocessing.grayscale_newaxis:
            raise InvalidValueError(
                "hide_objects re-renders the screen and must preprocess it like the env does: it needs gymnasium's "
                "AtariPreprocessing with 2-D grayscale frames below it (make_raw_env's Atari preprocessing)"
            )
        self._resize_to = preprocessing.screen_size
        self._scaled = preprocessing.scale_obs
        self._hide = OBJECT_HIDES[atari_game(env)][self.target]
        self.ale: ale_py.ALEInterface = env.unwrapped.ale
        self._screen = np.empty(ALE_SCREEN_SHAPE, dtype=np.uint8)

    def _preprocess(self, screen: np.ndarray) -> np.ndarray:
        """Exactly AtariPreprocessing's path for one grayscale screen (no max-pool: there is one frame)."""
        frame = cv2.resize(screen, self._resize_to, interpolation=cv2.INTER_AREA)
        return np.asarray(frame, dtype=np.float32) / 255.0 if self._scaled else np.asarray(frame, dtype=np.uint8)

    def _render_next_frame(self, edit: dict[int, int]) -> np.ndarray:
        for index, value in edit.items():
            self.ale.setRAM(index, value)
        self.ale.act(ale_py.Action.NOOP)
        self.ale.getScreenGrayscale(self._screen)
        return self._preprocess(self._screen)

    def _hidden_object_frame(self) -> tuple[np.ndarray, np.ndarray | None] | None:
        if self.ale.game_over():
            return None
        edit = self._hide(self.ale.getRAM())
        if not edit:
            return None  # the object is not on screen: nothing to hide
        saved = self.ale.cloneState(include_rng=True)
        hidden = self._render_next_frame(edit)
        mask = None
        if self.exact_mask:
            self.ale.restoreState(saved)
            mask = self._render_next_frame({}) != hidden
        self.ale.restoreState(saved)
        return hidden, mask

    def _hide_part(self, obs: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        untouched = {"observation_altered": False, "hidden_pixels": self._no_pixels}
        if not self.enabled or not (self.np_random.random() < self.p):
            return obs, untouched
        if self.mode == "hide_objects":
            rendered = self._hidden_object_frame()
            if rendered is None:
                return obs, untouched
            return rendered[0], {"observation_altered": True, "hidden_pixels": rendered[1]}
        if self.mode == "torch":
            centre_y = self.np_random.integers(SCREEN_ROWS)
            centre_x = self.np_random.integers(SCREEN_COLS)
            mask = (self._screen_y - centre_y) ** 2 + (self._screen_x - centre_x) ** 2 > self.TORCH_RADIUS**2
            fill = 0
        else:
            mask, fill = self._fixed_mask, self._fill
        hidden = np.array(obs, copy=True)
        np.copyto(hidden, fill, where=mask)
        return hidden, {"observation_altered": True, "hidden_pixels": mask}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = super().reset(seed=seed, options=options)
        obs, hidden = self._hide_part(obs)
        return obs, {**info, **hidden}

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        obs, hidden = self._hide_part(obs)
        return obs, reward, terminated, truncated, {**info, **hidden}


# ---------------------------------------------------------------------------------------------------
# The paper's profiles
# ---------------------------------------------------------------------------------------------------

# Exp_configs.json of STORI: type 2.1 mode, type 2.2 (switch time in agent steps, kind, secondary
# concept) and the type 3.2 variants A/B/C, per game. Type 1 is p = 0.3 everywhere.
_PAPER_PROFILES: dict[str, dict[str, Any]] = {
    "breakout": {
        "2.1": "hit_cancelled",
        "2.2": (300, "sudden", ("blackout", "ball_missing_top_and_bottom", 1.0)),
        "3.2": [("blackout", "ball_missing_top_and_bottom", 1.0), ("crop_left", None, 0.75), ("torch", None, 1.0)],
    },
    "boxing": {
        "2.1": "colour_swap",
        "2.2": (300, "sudden", ("hide_objects", "enemy", 0.7)),
        "3.2": [("blackout", "scores_and_clock", 1.0), ("crop_right", None, 0.75), ("hide_objects", "enemy", 0.7)],
    },
    "gopher": {
        "2.1": "hole_not_filled",
        "2.2": (600, "cyclic", ("blackout", "underground_offset", 1.0)),
        "3.2": [("blackout", "underground_offset", 1.0)],
    },
    "bankheist": {
        "2.1": "teleport",
        "2.2": (600, "cyclic", ("hide_objects", "city_blocks", 0.75)),
        "3.2": [("hide_objects", "city_blocks", 0.75)],
    },
}
_TYPE1_P = 0.3
_BANKHEIST_ACTIONS = tuple(range(10))  # STORI's type 1 on BankHeist draws only moves, never FIRE (dynamite)


def _known_atari_games() -> dict[str, str]:
    # Importing ale_py (done above) registers its ALE/... ids.
    return {_game_key(gym_id): gym_id for gym_id in gym.registry if gym_id.startswith("ALE/")}


def _missing_state_stack(mode: str, target: str | None, p: float) -> ProbeStack:
    params = {"mode": mode, "p": p, **({"target": target} if target is not None else {})}
    return ProbeStack.of(MissingStateVariables, **params)


def stori_profiles(game: str) -> list[tuple[str, ProbeStack]]:
    """The paper's stochasticity profiles for ``game`` as ``(label, ProbeStack)`` pairs.

    For Breakout, Boxing, Gopher and BankHeist these are STORI's experiment configurations (its
    Exp_configs.json): type 1 at p = 0.3 per emulator frame (BankHeist: actions 0-9 only), its type 2.1
    mode and probability, its type 2.2 drift, and its type 3.2 variants. Other Atari games get type 1,
    rlcert's type 2.1 events where it has them (Pong, Freeway), a left-half crop (p = 0.75), the torch
    (p = 1) and the RAM hide where there is one (p = 0.7) — labelled "(rlcert)", as the paper has none.

        >>> [label for label, _ in stori_profiles("gopher")][:2]
        ['type 1 random actions (p=0.3)', 'type 2.1 hole_not_filled (p=0.3)']
    """
    from rlcert.envs.generic_probes import ConceptDrift, RandomActionExecution

    key = _game_key(game)
    if key not in RANDOM_EVENTS and key not in _known_atari_games():
        raise InvalidValueError(f"{game!r} is not an ALE game; games with STORI tables: {', '.join(RANDOM_EVENTS)}")
    actions = {"actions": _BANKHEIST_ACTIONS} if key == "bankheist" else {}
    profiles = [(f"type 1 random actions (p={_TYPE1_P})",
                 ProbeStack.of(RandomActionExecution, p=_TYPE1_P, per="frame", **actions))]  # fmt: skip
    paper = _PAPER_PROFILES.get(key)
    events = RANDOM_EVENTS.get(key, {})
    for mode, rule in events.items():
        if paper is None or mode == paper["2.1"]:
            suffix = "" if paper is not None else " (rlcert)"
            profiles.append((f"type 2.1 {mode} (p={rule.default_p:g}){suffix}",
                             ProbeStack.of(RandomEvents, game_mode=mode, p=rule.default_p)))  # fmt: skip
    if paper is not None:
        after, kind, (mode, target, p) = paper["2.2"]
        drift = _missing_state_stack(mode, target, p).then(ConceptDrift, after=after, mode=kind)
        profiles.append((f"type 2.2 {kind} drift after {after} steps to {mode} {target} (p={p:g})", drift))
        for variant, (mode, target, p) in zip("ABC", paper["3.2"]):
            name = mode if target is None else f"{mode} {target}"
            profiles.append((f"type 3.2{variant} {name} (p={p:g})", _missing_state_stack(mode, target, p)))
        return profiles
    variants = [("crop_left", 0.75), ("torch", 1.0)] + ([("hide_objects", 0.7)] if key in OBJECT_HIDES else [])
    for mode, p in variants:
        target = DEFAULT_TARGETS["hide_objects"].get(key) if mode == "hide_objects" else None
        name = mode if target is None else f"{mode} {target}"
        profiles.append((f"type 3.2 {name} (p={p:g}) (rlcert)", _missing_state_stack(mode, target, p)))
    return profiles
