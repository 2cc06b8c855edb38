# One entry point for developers, CI and the README. Every target that runs something
# depends on `setup`, which is idempotent: the venv is rebuilt only when a requirements file changes.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COLLECTION_LINK := .collections/ansible_collections/winfleet/updates
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

DEMO_DIR ?= demo
FLEET ?= tests/simlab/fleets/demo.yml
LAB ?= lab

.PHONY: setup demo lab test unit e2e static lint clean

setup: $(STAMP) $(COLLECTION_LINK)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

## demo: build the simulated demo fleet, audit it, then roll the update out on it (a simulation, no real host is touched)
demo: setup
	$(BIN)/python -m tests.simlab.build_lab $(FLEET) $(DEMO_DIR)/lab
	$(BIN)/ansible-playbook -i $(DEMO_DIR)/lab/inventory.yml winfleet.updates.virtio_audit \
		-e virtio_report_dir=$(CURDIR)/$(DEMO_DIR)/reports
	@echo
	@echo "SIMULATION: the hosts above are the simulated lab in $(DEMO_DIR)/lab, not real Windows servers."
	@cat $(DEMO_DIR)/reports/virtio_audit.md
	@echo "Reports: $(CURDIR)/$(DEMO_DIR)/reports/virtio_audit.{json,csv,md}"
	@echo
	@echo "Now the rollout, one host per batch in inventory order (simulated time runs at 1/100)."
	@echo "The unreachable host lost01 stops it before the next batch, as it would on a real fleet."
	$(BIN)/ansible-playbook -i $(DEMO_DIR)/lab/inventory.yml winfleet.updates.virtio_rollout \
		-e virtio_source=cloud_assistant -e virtio_poll_interval=0.2 -e virtio_reconnect_timeout=3 \
		-e '{"virtio_antivirus_services": ["SAVService"]}' \
		-e virtio_report_dir=$(CURDIR)/$(DEMO_DIR)/reports \
		|| echo "(ansible-playbook exited non-zero: the rollout stopped early, see the report)"
	@echo
	@echo "SIMULATION: the rollout above ran on the simulated lab in $(DEMO_DIR)/lab."
	@cat $(DEMO_DIR)/reports/virtio_rollout.md
	@echo "Rollout report: $(CURDIR)/$(DEMO_DIR)/reports/virtio_rollout.{json,csv,md}"

## lab: write LAB/inventory.yml (and the lab state) from the fleet description FLEET
lab: setup
	$(BIN)/python -m tests.simlab.build_lab $(FLEET) $(LAB)

## test: every test and check
test: setup static unit e2e lint

unit: setup
	$(BIN)/python -m pytest -q -n auto tests/unit

static: setup
	$(BIN)/python -m pytest -q tests/static

e2e: setup
	$(BIN)/python -m pytest -q -n auto tests/integration

lint: setup
	$(BIN)/ansible-lint --offline --profile production

clean:
	rm -rf $(VENV) .collections $(DEMO_DIR) $(LAB) reports .pytest_cache .hypothesis
