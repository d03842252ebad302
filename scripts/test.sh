#!/usr/bin/env bash
# Runs ipcwatch's whole test suite: installs what the tests need from Debian,
# checks formatting, vet and staticcheck, regenerates the BPF artefacts and
# fails if they differ from the committed ones, runs every test, then runs
# each fuzz target briefly. Privileged tests need root; with
# IPCWATCH_REQUIRE_PRIVILEGED=1 they fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "installing test dependencies"
./scripts/deps.sh

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "staticcheck"
go tool staticcheck ./...

if [ -x scripts/check-generated.sh ]; then
  step "BPF artefacts are reproducible"
  ./scripts/check-generated.sh
fi

step "go test"
go test -count=1 -timeout 30m ./...

step "fuzzing each target briefly"
fuzztime=${IPCWATCH_FUZZTIME:-5s}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    echo "fuzz $pkg $target"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/dev/null
  done
done
echo "fuzzing: done"
