# zoomwatch — everything a developer or CI runs. `make run` and `make test` need only Go and
# Node.js on a fresh machine: the AWS emulator, the CDK CLI and a browser are installed here.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO          ?= go
FUNCTIONS   := poller detector oauth
DIST        := dist
CDK         := tools/cdk/node_modules/.bin/cdk
WITH_KUMO   := tools/with-kumo.sh
FUZZTIME    ?= 3s
ARGS        ?=

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

.PHONY: run
run: ## poll the simulated Zoom account once (or real Zoom with ZOOM_* set) and print alerts
	$(GO) run ./cmd/zoomwatch run --once $(ARGS)

.PHONY: test
test: test-go e2e faults-short rules-test fuzz test-infra ## everything CI runs: vet, unit, integration, e2e, faults (short), rules, fuzz, infra
	@echo "make test: all suites passed"

.PHONY: vet
vet:
	$(GO) vet ./...

.PHONY: test-go
test-go: vet browser ## unit, integration and end-to-end tests against the AWS emulator (started here)
	$(WITH_KUMO) $(GO) test -count=1 $$($(GO) list ./... | grep -vE '/internal/(e2e|faults)$$')

.PHONY: e2e
e2e: ## the deployed pipeline end to end: simulator → poller → Kinesis → detector → SNS → SQS
	$(WITH_KUMO) $(GO) test -count=1 -v -run '^TestEndToEnd$$' ./internal/e2e/ | grep -vE '^(=== |    e2e_test.go:[0-9]+: e2e:)'

.PHONY: faults
faults: ## fault suite, long form: Zoom and AWS faults and crashes at every step; prints the faults: line
	$(WITH_KUMO) $(GO) test -count=1 -timeout=30m -v -run '^TestFaults$$' ./internal/faults/ | grep -vE '^(=== |--- PASS|PASS$$)'

.PHONY: faults-short
faults-short: ## fault suite, short form (part of make test)
	$(WITH_KUMO) $(GO) test -count=1 -short -v -run '^TestFaults$$' ./internal/faults/ | grep -vE '^(=== |--- PASS|PASS$$|    faults_test.go:[0-9]+: detail:)'

.PHONY: rules-test
rules-test: ## run every shipped rule's inline tests
	$(GO) run ./cmd/zoomwatch rules test

.PHONY: fuzz
# A target that fails is run once more before the suite fails: an input that breaks the code is
# saved under the package's testdata/fuzz and fails the second run too, while the fuzzing
# engine's own flakes (golang/go#51484: "context deadline exceeded" at the -fuzztime boundary,
# no input written; golang/go#56238) do not.
fuzz: ## run each fuzz target briefly over its committed corpus
	@for spec in $$($(GO) run ./tools/fuzzlist); do \
	  pkg=$${spec%%:*}; name=$${spec##*:}; \
	  echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
	  for try in 1 2; do \
	    if out=$$($(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg 2>&1); then break; fi; \
	    echo "$$out" | tail -40; \
	    if [ $$try = 2 ]; then \
	      echo "fuzz $$name failed twice: rerun with: $(GO) test -run='^$$' -fuzz='^$$name\$$' $$pkg"; exit 1; \
	    fi; \
	    echo "fuzz $$name failed; running it once more"; \
	  done; \
	done

.PHONY: browser
browser: ## install headless Chromium for the onboarding page test if missing
	@tools/ensure-chromium.sh

.PHONY: build
build: ## Lambda artifacts: dist/<fn>/bootstrap, linux/arm64, static, stripped
	@for fn in $(FUNCTIONS); do \
	  [ -d functions/$$fn ] || continue; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath \
	    -ldflags='-s -w' -o $(DIST)/$$fn/bootstrap ./functions/$$fn; \
	  printf '%-10s %s bytes\n' $$fn $$(stat -c %s $(DIST)/$$fn/bootstrap); \
	done

.PHONY: bench
bench: build ## performance table: detector, decode baseline, poller drain, Lambda sizes and start
	$(WITH_KUMO) $(GO) run ./tools/bench

$(CDK): tools/cdk/package.json tools/cdk/package-lock.json
	npm ci --prefix tools/cdk --no-audit --no-fund --loglevel=error
	@touch $(CDK)

.PHONY: test-infra
test-infra: build $(CDK) ## CDK stack: assertion and cdk-nag tests, then a real `cdk synth` of the built functions
	cd infra && $(GO) test -count=1 ./...
	$(CDK) synth --quiet >/dev/null

.PHONY: synth
synth: build $(CDK) ## synthesize the CloudFormation template offline into cdk.out/
	$(CDK) synth --quiet $(ARGS)

.PHONY: deploy
deploy: build $(CDK) ## deploy to the AWS account of your credentials (see README)
	$(CDK) deploy $(ARGS)

.PHONY: clean
clean:
	rm -rf $(DIST) cdk.out .zoomwatch

.PHONY: invoke-poller
invoke-poller: ## run the poller handler once: simulator → local AWS emulator (events/scheduled.json)
	$(WITH_KUMO) $(GO) run ./cmd/zoomwatch invoke poller events/scheduled.json

.PHONY: invoke-detector
invoke-detector: ## run the detector handler on events/kinesis.json against a local AWS emulator
	$(WITH_KUMO) $(GO) run ./cmd/zoomwatch invoke detector events/kinesis.json
