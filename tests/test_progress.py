from rlcert.agents import load_policy
from rlcert.envs import run
from rlcert.reports.progress import progress_bar


def test_a_progress_bar_off_a_terminal_writes_nothing_not_even_a_blank_line(capsys):
    # Under a pipe or in a log, a transient bar used to leave an empty line on stdout.
    with progress_bar(True, 10, "episodes") as advance:
        advance(10)
    assert capsys.readouterr() == ("", "")
    run(load_policy("zoo:cartpole5-dqn"), "cartpole5", 3, progress=True)
    assert capsys.readouterr() == ("", "")
