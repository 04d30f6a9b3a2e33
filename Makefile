# The two commands of the README. Both install into .venv first (scripts/install.sh).
.PHONY: demo test install install-dev lint bench

demo:
	bash scripts/install.sh
	.venv/bin/rlcert zoo list
	.venv/bin/rlcert evaluate --policy zoo:cartpole5-dqn --env cartpole5 --episodes 1000 --out results/evaluate.json

test:
	bash scripts/install.sh dev,train
	.venv/bin/ruff check .
	.venv/bin/python -m pytest

bench:
	.venv/bin/python benchmarks/rollout_throughput.py
