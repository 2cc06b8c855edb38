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

# Release artefacts (all under the gitignored build/).
BUILD_DIR := build
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := $(BUILD_DIR)/collection/winfleet-updates-$(VERSION).tar.gz
# The tarball under the fixed name execution-environment.yml refers to.
EE_TARBALL := $(BUILD_DIR)/ee/winfleet-updates.tar.gz
EE_CONTEXT := $(BUILD_DIR)/ee-context
DOCS_DIR := $(BUILD_DIR)/docs

.PHONY: setup browser demo lab fake-ecs test unit e2e static release-checks molecule sanity lint build ee-context docs clean

setup: $(STAMP) $(COLLECTION_LINK)

$(STAMP): requirements.txt requirements-dev.txt
	@# a .venv symlink whose target is gone (a shared venv on another machine) is replaced
	if [ -L $(VENV) ] && [ ! -e $(VENV) ]; then rm $(VENV); fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

## browser: Debian's Chromium and its WebDriver, for the HTML report's browser test
## (tests/integration/test_report_html.py); installed with apt-get only when missing
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; else \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver; fi

## demo: build the simulated demo fleet, audit it, then roll the update out on it (a simulation, no real host is touched)
demo: setup
	$(BIN)/python -m tests.simlab.build_lab $(FLEET) $(DEMO_DIR)/lab
	$(BIN)/ansible-playbook -i $(DEMO_DIR)/lab/inventory.yml winfleet.updates.virtio_audit \
		-e virtio_report_dir=$(CURDIR)/$(DEMO_DIR)/reports
	@echo
	@echo "SIMULATION: the hosts above are the simulated lab in $(DEMO_DIR)/lab, not real Windows servers."
	@cat $(DEMO_DIR)/reports/virtio_audit.md
	@echo "Reports: $(CURDIR)/$(DEMO_DIR)/reports/virtio_audit.{json,csv,md,html}"
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
	@echo "Rollout report: $(CURDIR)/$(DEMO_DIR)/reports/virtio_rollout.{json,csv,md,html}"

## lab: write LAB/inventory.yml (and the lab state) from the fleet description FLEET
lab: setup
	$(BIN)/python -m tests.simlab.build_lab $(FLEET) $(LAB)

## fake-ecs: run the fake ECS endpoint over the lab LAB in the foreground (SIMULATION); prints the
## export lines first (test credentials, WINFLEET_ECS_ENDPOINT), e.g. make fake-ecs LAB=demo/lab
fake-ecs: setup
	@$(BIN)/python -m tests.fakeecs.server $(LAB)

## test: every test and check
test: setup static unit e2e release-checks molecule sanity lint

unit: setup
	$(BIN)/python -m pytest -q -n auto tests/unit

static: setup
	$(BIN)/python hacking/ps_lint.py $$(find plugins -name '*.ps1' -o -name '*.psm1' | sort)
	$(BIN)/python -m pytest -q tests/static

e2e: setup browser
	$(BIN)/python -m pytest -q -n auto tests/integration

## release-checks: build the tarball and check what it holds, the EE build context, the generated
## reference, the repository as an AWX project
release-checks: setup
	$(BIN)/python -m pytest -q -n auto tests/release

## molecule: scenario `default` (the roles on the simulated lab); `windows` needs real hosts, so
## only its playbooks' syntax is checked
molecule: setup
	$(BIN)/molecule test -s default
	WINFLEET_WINDOWS_INVENTORY=$(CURDIR)/$(BUILD_DIR)/no-such-inventory.yml $(BIN)/molecule syntax -s windows

## sanity: ansible-test sanity on the collection as built, each test in its own venv, from a tree
## outside this git checkout (inside it, ansible-test would list files with `git ls-files`).
## validate-modules reads a PowerShell module's $$spec only by running pwsh; where pwsh is missing it
## runs without the .ps1 files (tests/static/test_module_contract.py checks their $$spec), so no
## ignore file is needed.
ANSIBLE_TEST_SANITY := $(CURDIR)/$(BIN)/ansible-test sanity --venv --python 3.11 --color no
sanity: build
	$(BIN)/python hacking/ansible_test_get_pip.py --install
	@set -e; tree=$$(mktemp -d); trap 'rm -rf "$$tree"' EXIT; \
	mkdir -p "$$tree/ansible_collections/winfleet/updates"; \
	tar -xzf $(TARBALL) -C "$$tree/ansible_collections/winfleet/updates"; \
	cd "$$tree/ansible_collections/winfleet/updates"; \
	if command -v pwsh >/dev/null; then \
		$(ANSIBLE_TEST_SANITY); \
	else \
		status=0; \
		$(ANSIBLE_TEST_SANITY) --skip-test validate-modules || status=$$?; \
		echo "pwsh not found: validate-modules without the .ps1 argument specs (see tests/static/test_module_contract.py)"; \
		$(ANSIBLE_TEST_SANITY) --test validate-modules $$(for f in plugins/modules/*.ps1; do echo --exclude $$f; done) \
			|| status=$$?; \
		exit $$status; \
	fi

lint: setup
	$(BIN)/ansible-lint --offline --profile production
	$(BIN)/antsibull-changelog lint

## build: the collection tarball, as Galaxy or Automation Hub would receive it
build: setup
	rm -rf $(BUILD_DIR)/collection
	$(BIN)/ansible-galaxy collection build --force --output-path $(BUILD_DIR)/collection

## ee-context: the execution environment's build context (Containerfile + _build/); no container
## engine needed. Build the image with: podman build -t winfleet-updates-ee:$(VERSION) $(EE_CONTEXT)
ee-context: build
	mkdir -p $(dir $(EE_TARBALL))
	cp $(TARBALL) $(EE_TARBALL)
	rm -rf $(EE_CONTEXT)
	$(BIN)/ansible-builder create --file execution-environment.yml --context $(EE_CONTEXT) \
		--output-filename Containerfile

## docs: module and role reference generated with antsibull-docs (RST) and rendered to HTML with
## Sphinx, into build/docs; offline
docs: setup
	rm -rf $(DOCS_DIR)
	mkdir -p $(DOCS_DIR)/rst
	$(BIN)/antsibull-docs collection --use-current --dest-dir $(DOCS_DIR)/rst winfleet.updates
	$(BIN)/sphinx-build -q -W --keep-going -b html -c hacking/sphinx $(DOCS_DIR)/rst/collections $(DOCS_DIR)/html
	@echo "Reference: $(CURDIR)/$(DOCS_DIR)/html/index.html"

clean:
	rm -rf $(VENV) .collections $(DEMO_DIR) $(LAB) $(BUILD_DIR) reports .pytest_cache .hypothesis
