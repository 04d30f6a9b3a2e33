import pytest
import torch
from torch import nn

from rlcert.certify.bounds import compute_bounds
from rlcert.certify.lirpa_backend import auto_lirpa_available, compute_bounds_auto_lirpa


def test_the_backend_reports_itself_unavailable_cleanly():
    if auto_lirpa_available():
        pytest.skip("auto_LiRPA is installed here")
    with pytest.raises(RuntimeError, match="auto_LiRPA is not importable"):
        compute_bounds_auto_lirpa(nn.Linear(2, 2), torch.zeros(1, 2), 0.1)


@pytest.mark.skipif(not auto_lirpa_available(), reason="auto_LiRPA does not import with this torch")
def test_our_bounds_agree_with_auto_lirpa():
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    x = torch.randn(2, 4)
    for method in ("ibp", "crown"):
        ours = compute_bounds(module, x, 0.1, "inf", method)
        theirs = compute_bounds_auto_lirpa(module, x, 0.1, "inf", method)
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
