"""STORI type 2.1 action-independent random events, one rule per game and mode (Barsainyan et al. 2025,
arXiv 2509.01793, §3; code github.com/ARY2260/stori), checked by experiment on ALE 0.12.

An event rule is called by :class:`rlcert.envs.stori.RandomEvents` once per emulator frame in place of
``env.step`` and uses only what :class:`EventHost` lists (``fires()`` is a Bernoulli(p) draw from the
probe's seeded generator, ``episode`` holds state cleared at every reset). Rules draw the Bernoulli
first and touch the RAM only when it fires, so an idle probe costs one random number per frame. Where
STORI's edit does not do what its mode's name says, the rule does what the name says and its comment
says what differs; Pong and Freeway events are rlcert's own, their addresses found the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import ale_py
import gymnasium as gym
import numpy as np

from rlcert.envs.stori_games import (
    BANKHEIST_BANK,
    BANKHEIST_BOMB_X,
    BANKHEIST_CITY,
    BANKHEIST_FUEL_USED,
    BANKHEIST_FUSE,
    BANKHEIST_HALF_TANK,
    BANKHEIST_SITES,
    BOXING_ENEMY_COLOUR,
    BOXING_ENEMY_SCORE,
    BOXING_ENEMY_X,
    BOXING_ENEMY_Y,
    BOXING_PLAYER_COLOUR,
    BOXING_PLAYER_SCORE,
    BOXING_PLAYER_X,
    BOXING_PLAYER_Y,
    BREAKOUT_WALL,
    FREEWAY_CHICKEN_Y,
    GOPHER_CARROTS,
    GOPHER_SETTLE_FRAMES,
    GOPHER_TUNNELS,
    PONG_BALL_Y,
    PONG_VELOCITY_X,
    PONG_VELOCITY_Y,
)

__all__ = ["EventHost", "EventRule", "RANDOM_EVENTS"]

Step = tuple[Any, float, bool, bool, dict[str, Any]]


class EventHost(Protocol):
    """What an event rule may use of the probe that runs it (``rlcert.envs.stori.RandomEvents``)."""

    env: gym.Env
    ale: ale_py.ALEInterface
    episode: dict[str, Any]
    owed_reward: float

    @property
    def np_random(self) -> np.random.Generator: ...

    def fires(self) -> bool: ...

    def count_event(self) -> None: ...


def _fill_bits(probe: EventHost, index: int, bits: int) -> None:
    probe.ale.setRAM(index, int(probe.ale.getRAM()[index]) | bits)


def _restore_cleared_bits(probe: EventHost, region: slice, before: np.ndarray) -> bool:
    """Set back every bit of the RAM ``region`` that the last frame cleared; True when there was one."""
    cleared = before & ~probe.ale.getRAM()[region]
    for index in np.flatnonzero(cleared):
        _fill_bits(probe, region.start + int(index), int(cleared[index]))
    return bool(cleared.any())


def _breakout_cancel_hit(probe: EventHost, action: int, keep_reward: bool) -> Step:
    if not probe.fires():
        return probe.env.step(action)
    wall_before = probe.ale.getRAM()[BREAKOUT_WALL]
    obs, reward, terminated, truncated, info = probe.env.step(action)
    if reward > 0:
        if _restore_cleared_bits(probe, BREAKOUT_WALL, wall_before):  # the knocked-out brick
            probe.count_event()
            # The score on screen keeps the points: rewinding it would make the ALE pay a negative reward.
            reward = reward if keep_reward else 0.0
    return obs, reward, terminated, truncated, info


def breakout_hit_cancelled(probe: EventHost, action: int) -> Step:
    return _breakout_cancel_hit(probe, action, keep_reward=False)


def breakout_hit_cancelled_keep_reward(probe: EventHost, action: int) -> Step:
    return _breakout_cancel_hit(probe, action, keep_reward=True)


def breakout_brick_regenerated(probe: EventHost, action: int) -> Step:
    result = probe.env.step(action)
    if probe.fires():
        wall = probe.ale.getRAM()[BREAKOUT_WALL]
        missing = probe.episode["wall"] & ~wall
        bricks = [(int(i), shift) for i in np.flatnonzero(missing) for shift in (0, 2, 4, 6)
                  if (int(missing[i]) >> shift) & 3 == 3]  # fmt: skip
        if bricks:
            # STORI restores a whole wall byte (up to four bricks); one brick is what the event's name says.
            index, shift = bricks[int(probe.np_random.integers(len(bricks)))]
            _fill_bits(probe, BREAKOUT_WALL.start + index, 3 << shift)
            probe.count_event()
    return result


def _remember_breakout_wall(probe: EventHost) -> None:
    probe.episode["wall"] = probe.ale.getRAM()[BREAKOUT_WALL]


def boxing_colour_swap(probe: EventHost, action: int) -> Step:
    if probe.fires():
        probe.episode["swapped"] = not probe.episode["swapped"]
        probe.count_event()
    if probe.episode["swapped"]:
        # The game sets both colour bytes again at the end of every frame, so the swap is written before
        # each frame it should show in (as STORI does); the default colours need no writing.
        player, enemy = probe.episode["colours"]
        probe.ale.setRAM(BOXING_PLAYER_COLOUR, enemy)
        probe.ale.setRAM(BOXING_ENEMY_COLOUR, player)
    return probe.env.step(action)


def _boxing_forget_swap(probe: EventHost) -> None:
    probe.episode["swapped"] = False  # switched off: the game draws its own colours from the next frame on


def _decimal(byte: int) -> int:
    return (byte >> 4) * 10 + (byte & 0x0F)  # Boxing keeps its scores in binary-coded decimal


def boxing_hit_cancelled(probe: EventHost, action: int) -> Step:
    if not probe.fires():
        return probe.env.step(action)
    ram_before = probe.ale.getRAM()
    obs, reward, terminated, truncated, info = probe.env.step(action)
    ram = probe.ale.getRAM()
    scored = [i for i in (BOXING_PLAYER_SCORE, BOXING_ENEMY_SCORE) if ram[i] != ram_before[i]]
    if len(scored) == 1:  # STORI leaves a frame where both boxers score alone
        index = scored[0]
        points = _decimal(int(ram[index])) - _decimal(int(ram_before[index]))
        payoff = points if index == BOXING_PLAYER_SCORE else -points
        probe.ale.setRAM(index, int(ram_before[index]))
        # The ALE pays score differences, so next frame it reports the rewound point as -payoff; the probe
        # pays that back then. (STORI zeroes the reward *and* rewinds: a net -1 per cancelled player hit.)
        reward -= payoff
        probe.owed_reward += payoff
        probe.count_event()
    return obs, reward, terminated, truncated, info


def boxing_displace_to_corners(probe: EventHost, action: int) -> Step:
    if probe.fires():
        player_x, enemy_x, player_y, enemy_y = probe.episode["start_positions"]
        for index, value in ((BOXING_PLAYER_X, enemy_x), (BOXING_PLAYER_Y, enemy_y),
                             (BOXING_ENEMY_X, player_x), (BOXING_ENEMY_Y, player_y)):  # fmt: skip
            probe.ale.setRAM(index, int(value))
        probe.count_event()
    return probe.env.step(action)


def _remember_boxing_start(probe: EventHost) -> None:
    ram = probe.ale.getRAM()
    probe.episode["colours"] = (int(ram[BOXING_PLAYER_COLOUR]), int(ram[BOXING_ENEMY_COLOUR]))
    probe.episode["swapped"] = False
    probe.episode["start_positions"] = tuple(int(v) for v in ram[BOXING_PLAYER_X : BOXING_ENEMY_Y + 1])


def _gopher_cancel_fill(probe: EventHost, action: int, keep_reward: bool) -> Step:
    if int(action) not in probe.episode["fill_actions"] or not probe.fires():
        return probe.env.step(action)
    tunnels_before = probe.ale.getRAM()[GOPHER_TUNNELS]
    obs, reward, terminated, truncated, info = probe.env.step(action)
    if reward > 0:
        # A fill clears tunnel bits; the gopher only ever sets them, so cleared bits are the farmer's
        # fill (STORI guesses the filled bytes from the farmer's x and may rewind the gopher's digging).
        if _restore_cleared_bits(probe, GOPHER_TUNNELS, tunnels_before):
            probe.count_event()
            reward = reward if keep_reward else 0.0
    return obs, reward, terminated, truncated, info


def gopher_hole_not_filled(probe: EventHost, action: int) -> Step:
    return _gopher_cancel_fill(probe, action, keep_reward=False)


def gopher_hole_not_filled_keep_reward(probe: EventHost, action: int) -> Step:
    return _gopher_cancel_fill(probe, action, keep_reward=True)


def _remember_gopher(probe: EventHost) -> None:
    meanings = probe.env.unwrapped.get_action_meanings()
    probe.episode["fill_actions"] = frozenset(i for i, name in enumerate(meanings) if "FIRE" in name)
    probe.episode["carrot_removed"] = False


def gopher_carrot_removed(probe: EventHost, action: int) -> Step:
    result = probe.env.step(action)
    if probe.episode["carrot_removed"] or not probe.fires():
        return result
    if probe.ale.getEpisodeFrameNumber() < GOPHER_SETTLE_FRAMES:
        return result
    carrots = int(probe.ale.getRAM()[GOPHER_CARROTS])
    standing = [bit for bit in (1, 2, 4) if carrots & bit]
    # STORI means to spare the last carrot (losing it ends the game), but its test never holds.
    if len(standing) >= 2:
        bit = standing[int(probe.np_random.integers(len(standing)))]
        probe.ale.setRAM(GOPHER_CARROTS, carrots & ~bit)
        probe.episode["carrot_removed"] = True
        probe.count_event()
    return result


def bankheist_dud_bomb(probe: EventHost, action: int) -> Step:
    if not probe.fires():
        return probe.env.step(action)
    fuse_before = int(probe.ale.getRAM()[BANKHEIST_FUSE])
    result = probe.env.step(action)
    if int(probe.ale.getRAM()[BANKHEIST_FUSE]) > fuse_before:  # a fresh fuse: dynamite dropped this frame
        # STORI rewinds only the dynamite's x (byte 12): the fuse keeps burning and the blast still comes.
        # Clearing the fuse too makes the dynamite vanish without a blast (screens match a run without the drop).
        probe.ale.setRAM(BANKHEIST_BOMB_X, 0)
        probe.ale.setRAM(BANKHEIST_FUSE, 0)
        probe.count_event()
    return result


def bankheist_fuel_leak(probe: EventHost, action: int) -> Step:
    result = probe.env.step(action)
    if probe.fires():
        ram = probe.ale.getRAM()
        city_map = int(ram[BANKHEIST_CITY]) % 4
        if city_map not in probe.episode["leaked_in"]:  # at most one leak per city per episode
            probe.episode["leaked_in"].add(city_map)
            if int(ram[BANKHEIST_FUEL_USED]) < BANKHEIST_HALF_TANK:
                probe.ale.setRAM(BANKHEIST_FUEL_USED, BANKHEIST_HALF_TANK)
                probe.count_event()
    return result


def bankheist_teleport(probe: EventHost, action: int) -> Step:
    result = probe.env.step(action)
    if probe.fires():
        city = int(probe.ale.getRAM()[BANKHEIST_CITY])
        others = [m for m in range(4) if m != city % 4]
        new_map = others[int(probe.np_random.integers(len(others)))]
        # Only the map (value % 4) changes; STORI writes the map number itself, which also resets the count
        # of cities driven through.
        probe.ale.setRAM(BANKHEIST_CITY, city - city % 4 + new_map)
        probe.count_event()
    return result


def bankheist_empty_bank(probe: EventHost, action: int) -> Step:
    if not probe.fires():
        return probe.env.step(action)
    sites_before = probe.ale.getRAM()[BANKHEIST_SITES]
    obs, reward, terminated, truncated, info = probe.env.step(action)
    if reward > 0:  # a robbery pays in the frame the bank leaves its site
        robbed = (sites_before == BANKHEIST_BANK) & (probe.ale.getRAM()[BANKHEIST_SITES] != BANKHEIST_BANK)
        if robbed.any():
            reward = 0.0
            probe.count_event()
    return obs, reward, terminated, truncated, info


def _remember_bankheist(probe: EventHost) -> None:
    probe.episode["leaked_in"] = set()


def _negate_pong_velocity(index: int) -> Callable[[EventHost, int], Step]:
    def event(probe: EventHost, action: int) -> Step:
        result = probe.env.step(action)
        if probe.fires():
            ram = probe.ale.getRAM()
            if ram[PONG_BALL_Y] != 0:  # the ball is in play
                probe.ale.setRAM(index, (-int(ram[index])) & 0xFF)
                probe.count_event()
        return result

    return event


pong_ball_reversed = _negate_pong_velocity(PONG_VELOCITY_X)
pong_ball_deflected = _negate_pong_velocity(PONG_VELOCITY_Y)


def freeway_knocked_back(probe: EventHost, action: int) -> Step:
    result = probe.env.step(action)
    if probe.fires():
        start = probe.episode["chicken_start"]
        if int(probe.ale.getRAM()[FREEWAY_CHICKEN_Y]) > start:
            probe.ale.setRAM(FREEWAY_CHICKEN_Y, start)
            probe.count_event()
    return result


def _remember_freeway_start(probe: EventHost) -> None:
    probe.episode["chicken_start"] = int(probe.ale.getRAM()[FREEWAY_CHICKEN_Y])


@dataclass(frozen=True)
class EventRule:
    """One type 2.1 random event of one game."""

    step: Callable[[EventHost, int], Step]
    """Runs one emulator frame of the probe's env with the event (see the module docstring)."""
    default_p: float
    """Probability per emulator frame (per triggering frame for events tied to a hit, fill, drop or robbery)."""
    summary: str
    """What happens, in one line."""
    stori_mode: str | None = None
    """STORI's mode number for this game; None for rlcert's own events."""
    default_p_source: str = "STORI"
    """Where ``default_p`` comes from: "STORI" (its paper configs or code comments) or "rlcert" (our choice)."""
    on_reset: Callable[[EventHost], None] | None = None
    """Records per-episode facts after a reset (the intact wall, start positions, ...)."""
    on_disable: Callable[[EventHost], None] | None = None
    """Ends a lasting effect when the probe is switched off (concept drift back to the default game)."""


RANDOM_EVENTS: dict[str, dict[str, EventRule]] = {
    "breakout": {
        "hit_cancelled": EventRule(breakout_hit_cancelled, 0.25,
                                   "a brick hit is undone: the brick stays and the hit pays nothing", "2",
                                   on_reset=_remember_breakout_wall),
        "hit_cancelled_keep_reward": EventRule(breakout_hit_cancelled_keep_reward, 0.25,
                                               "a brick hit is undone but still pays", "1", "rlcert",
                                               on_reset=_remember_breakout_wall),
        "brick_regenerated": EventRule(breakout_brick_regenerated, 0.001,
                                       "a knocked-out brick of the wall grows back", "3", "rlcert",
                                       on_reset=_remember_breakout_wall),
    },
    "boxing": {
        "colour_swap": EventRule(boxing_colour_swap, 0.001,
                                 "the boxers (and their scores) swap colours until the next swap", "1",
                                 on_reset=_remember_boxing_start, on_disable=_boxing_forget_swap),
        "hit_cancelled": EventRule(boxing_hit_cancelled, 0.25,
                                   "a scoring punch (either boxer's) does not count", "2",
                                   on_reset=_remember_boxing_start),
        "displace_to_corners": EventRule(boxing_displace_to_corners, 0.001,
                                         "each boxer is moved to the other's starting corner", "3",
                                         on_reset=_remember_boxing_start),
    },
    "gopher": {
        "hole_not_filled": EventRule(gopher_hole_not_filled, 0.3,
                                     "the farmer's shovelful does not fill the hole and pays nothing", "2",
                                     on_reset=_remember_gopher),
        "hole_not_filled_keep_reward": EventRule(gopher_hole_not_filled_keep_reward, 0.3,
                                                 "the farmer's shovelful does not fill the hole but pays", "1",
                                                 "rlcert", on_reset=_remember_gopher),
        "carrot_removed": EventRule(gopher_carrot_removed, 0.001,
                                    "once per episode a carrot vanishes (never the last one)", "3", "rlcert",
                                    on_reset=_remember_gopher),
    },
    "bankheist": {
        "dud_bomb": EventRule(bankheist_dud_bomb, 0.25, "dropped dynamite fizzles out without a blast",
                              "1", "rlcert"),
        "fuel_leak": EventRule(bankheist_fuel_leak, 0.001,
                               "the tank leaks down to half (at most once per city per episode)", "2",
                               on_reset=_remember_bankheist),
        "teleport": EventRule(bankheist_teleport, 0.001, "the car is moved to another city's map", "3"),
        "empty_bank": EventRule(bankheist_empty_bank, 0.25, "a robbed bank turns out empty: no reward",
                                "4", "rlcert"),
    },
    "pong": {
        "ball_reversed": EventRule(pong_ball_reversed, 0.002, "the ball turns back horizontally mid-flight",
                                   default_p_source="rlcert"),
        "ball_deflected": EventRule(pong_ball_deflected, 0.002, "the ball turns back vertically mid-flight",
                                    default_p_source="rlcert"),
    },
    "freeway": {
        "knocked_back": EventRule(freeway_knocked_back, 0.001, "the chicken is sent back to the kerb",
                                  default_p_source="rlcert", on_reset=_remember_freeway_start),
    },
}  # fmt: skip
"""Game → event mode → rule. Default probabilities marked "STORI" are from its paper configs
(Exp_configs.json: Breakout hit cancel 0.25, Boxing colour swap 0.001, Gopher hole not filled 0.3,
BankHeist teleport 0.001) or its code comments (Boxing hit cancel 0.25, displace 0.001, fuel leak 0.001);
the others are rlcert's (the keep-reward variants reuse their sibling's)."""
