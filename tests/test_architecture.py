import pickle

import numpy as np
import pytest
import torch
from torch import nn

from rlcert.agents.architecture import (
    PolicyLoadError,
    build_module,
    describe_module,
    load_state_dict_file,
    load_weights_into,
    read_architecture,
    space_from_json,
    space_to_json,
)

LAYERS = [
    {"type": "conv2d", "in": 4, "out": 8, "kernel": 8, "stride": 4, "padding": 0},
    {"type": "relu"},
    {"type": "flatten"},
    {"type": "linear", "in": 8 * 20 * 20, "out": 16},
    {"type": "tanh"},
    {"type": "identity"},
    {"type": "linear", "in": 16, "out": 3},
]


def test_build_and_describe_round_trip():
    module = build_module(LAYERS)
    assert describe_module(module) == LAYERS
    assert module(torch.zeros(2, 4, 84, 84)).shape == (2, 3)


def test_unsupported_layers_are_named_with_the_supported_set():
    with pytest.raises(PolicyLoadError, match="unsupported layer type 'lstm'; supported: linear, conv2d"):
        build_module([{"type": "lstm"}])
    with pytest.raises(PolicyLoadError, match="unsupported layer type Sigmoid"):
        describe_module(nn.Sequential(nn.Sigmoid()))
    with pytest.raises(PolicyLoadError, match="lacks out"):
        build_module([{"type": "linear", "in": 3}])


def test_spaces_round_trip():
    import gymnasium as gym

    box = gym.spaces.Box(np.array([-1.0, -2.0], dtype=np.float32), np.array([1.0, 2.0], dtype=np.float32))
    assert space_from_json(space_to_json(box)) == box
    assert space_from_json(space_to_json(gym.spaces.Discrete(6))) == gym.spaces.Discrete(6)


def test_corrupt_weights_file_gives_one_line_error(tmp_path):
    path = tmp_path / "weights.pt"
    path.write_bytes(b"\x00garbage" * 50)
    with pytest.raises(PolicyLoadError) as info:
        load_state_dict_file(path)
    assert "not a readable torch weights file" in str(info.value) and "\n" not in str(info.value)


def test_pickled_objects_are_refused_not_executed(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.pt"
    torch.save({"weight": torch.zeros(1), "payload": Evil()}, path)
    with pytest.raises(PolicyLoadError):
        load_state_dict_file(path)
    path.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(PolicyLoadError):
        load_state_dict_file(path)


def test_missing_file_and_non_state_dict(tmp_path):
    with pytest.raises(PolicyLoadError, match="does not exist"):
        load_state_dict_file(tmp_path / "none.pt")
    torch.save([torch.zeros(1)], tmp_path / "list.pt")
    with pytest.raises(PolicyLoadError, match="not a state_dict"):
        load_state_dict_file(tmp_path / "list.pt")


def test_wrong_shapes_name_the_tensor_and_both_shapes():
    module = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    state = {k: v.clone() for k, v in module.state_dict().items()}
    state["0.weight"] = torch.zeros(8, 5)
    with pytest.raises(PolicyLoadError, match=r"0.weight: file \(8, 5\) vs architecture \(8, 4\)"):
        load_weights_into(module, state)
    del state["2.bias"]
    with pytest.raises(PolicyLoadError, match="missing tensors 2.bias"):
        load_weights_into(module, state)


def test_nan_weights_are_refused():
    module = nn.Sequential(nn.Linear(2, 2))
    state = {"0.weight": torch.full((2, 2), float("nan")), "0.bias": torch.zeros(2)}
    with pytest.raises(PolicyLoadError, match="NaN"):
        load_weights_into(module, state)


def test_architecture_json_errors(tmp_path):
    path = tmp_path / "arch.json"
    path.write_text("{not json")
    with pytest.raises(PolicyLoadError, match="not valid JSON"):
        read_architecture(path)
    path.write_text('{"format": "something-else"}')
    with pytest.raises(PolicyLoadError, match="wrong 'format'"):
        read_architecture(path)


def test_uniform_box_bounds_are_stored_as_one_number():
    import gymnasium as gym

    pixels = gym.spaces.Box(0.0, 1.0, (4, 84, 84), np.float32)
    assert space_to_json(pixels) == {"type": "box", "shape": [4, 84, 84], "low": 0.0, "high": 1.0}
    assert space_from_json(space_to_json(pixels)) == pixels


@pytest.mark.parametrize(
    "change, message",
    [
        ({"activation": "relu"}, "architecture has the unknown key 'activation'; valid keys: action_space"),
        ({"layers": [{"type": "linear", "in": 4, "out": 2, "bias": False}]}, "layer 0 has the unknown key 'bias'"),
        ({"action_space": {"type": "discrete", "n": 2, "start": 1}}, "action_space has the unknown key 'start'"),
    ],
)
def test_unknown_keys_in_an_architecture_are_refused(change, message):
    from rlcert.agents.architecture import FORMAT, check_architecture

    data = {"format": FORMAT, "layers": [{"type": "linear", "in": 4, "out": 2}], "output": "q_values",
            "observation_shape": [4], "action_space": {"type": "discrete", "n": 2}} | change  # fmt: skip
    with pytest.raises(PolicyLoadError, match=message.replace("(", r"\(")):
        check_architecture(data)
