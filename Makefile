# The two commands of the README. Both install into .venv first (scripts/install.sh).
.PHONY: demo test install install-dev lint bench

demo:
	bash scripts/install.sh
	rm -rf results/demo-audit  # the demo's own folder: an audit never overwrites another
	.venv/bin/rlcert audit --out results/demo-audit

test:
	bash scripts/install.sh dev,train,ray
	bash scripts/install_browser.sh  # Debian's chromium + chromium-driver, for the report's browser test
	.venv/bin/ruff check .
	.venv/bin/pytest  # not python -m pytest: the repository root stays off sys.path, as for a user

bench:
	.venv/bin/python benchmarks/rollout_throughput.py
	.venv/bin/python benchmarks/smoothing_certificate.py
	.venv/bin/python benchmarks/shared_cores.py
	.venv/bin/python benchmarks/ray_certificate.py
