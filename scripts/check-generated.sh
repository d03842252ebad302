#!/usr/bin/env bash
# Regenerates the BPF objects and their Go bindings with bpf2go and fails if
# they differ from the committed ones, so the committed artefacts always
# match probes/bpf/*.c.
set -euo pipefail
cd "$(dirname "$0")/.."
go generate ./probes/...
untracked=$(git ls-files --others --exclude-standard -- 'probes/*_bpfel.go' 'probes/*_bpfel.o')
if ! git diff --exit-code --stat -- probes/ || [ -n "$untracked" ]; then
  [ -z "$untracked" ] || echo "not committed: $untracked" >&2
  echo "the generated BPF artefacts differ from the committed ones: run go generate ./probes/... and commit" >&2
  exit 1
fi
echo "BPF artefacts match their sources"
