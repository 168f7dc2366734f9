# One command each for a fresh machine: `make demo` (the main job) and `make test`.
# DISTRO picks the ROS 2 wheels for the demo (kilted or jazzy); DISTROS the test runs.
DISTRO ?= kilted
DISTROS ?= kilted jazzy
PYTEST_ARGS ?=

.PHONY: demo test venv clean

venv:
	scripts/setup_env.sh --distro $(DISTRO)

demo: venv
	.venv-$(DISTRO)/bin/depth-trt-ros demo

test:
	@set -e; for d in $(DISTROS); do \
	  scripts/setup_env.sh --distro $$d; \
	  echo "=== tests on ROS 2 $$d ==="; \
	  .venv-$$d/bin/python -m pytest test -p no:cacheprovider $(PYTEST_ARGS); \
	done

clean:
	rm -rf .venv-kilted .venv-jazzy out build install log
