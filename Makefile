# The two commands of the README. Both install into .venv first (scripts/install.sh).
.PHONY: demo test install install-dev lint bench

demo:
	bash scripts/install.sh
	.venv/bin/rlcert zoo list
	.venv/bin/rlcert certify reward --policy zoo:cartpole5-ppo-sigma0.2 --episodes 10000 --budgets 0:1:0.2

test:
	bash scripts/install.sh dev,train
	.venv/bin/ruff check .
	.venv/bin/pytest  # not python -m pytest: the repository root stays off sys.path, as for a user

bench:
	.venv/bin/python benchmarks/rollout_throughput.py
	.venv/bin/python benchmarks/smoothing_certificate.py
