#!/usr/bin/env bash
# The main job on the bundled example data: validate, inspect, convert with a report, validate the output.
# Run by `make demo` with the project's environment on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo-output
rm -rf "$out" && mkdir -p "$out"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step hub --version
step hub formats
step hub validate examples/spikes.yaml examples/subject.json
step hub info examples/spikes.yaml
step hub convert examples/spikes.yaml "$out/spikes.json" --report "$out/spikes.report.json"
step hub convert examples/subject.json "$out/subject.yaml" --report "$out/subject.report.json"
step hub validate --json "$out/spikes.json" "$out/subject.yaml"
step cat "$out/spikes.report.json"
printf '\ndemo finished: outputs in %s/\n' "$out"
