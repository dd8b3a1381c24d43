#!/usr/bin/env bash
# Holds N connections in fakesmtp's banner delay and in its stutter tarpit
# and reports the server's memory per held connection and the latency a
# well-behaved client sees meanwhile (unloaded vs loaded). Run by hand on
# an otherwise idle machine: bash bench/held.sh [N ...] (default 1000 10000).
# Not part of CI. Everything runs on 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
ns=("$@")
[ ${#ns[@]} -gt 0 ] || ns=(1000 10000)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/fakesmtp" ./cmd/fakesmtp
go build -o "$tmp/held" ./bench/held
# Each side of 10,000 connections needs 10,000 descriptors.
ulimit -n "$(ulimit -Hn)"
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(go version | cut -d' ' -f3), $(uname -r)"
for mode in banner stutter; do
  for n in "${ns[@]}"; do
    "$tmp/held" -bin "$tmp/fakesmtp" -n "$n" -mode "$mode" -samples 20
  done
done
