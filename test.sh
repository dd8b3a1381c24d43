#!/usr/bin/env bash
# Runs every test of fakesmtp, as CI does: installs the real clients the
# end-to-end tests drive (Debian packages), then the format check, go vet,
# the race-enabled test suite, short fuzz runs and the cross-builds.
set -euo pipefail
cd "$(dirname "$0")"

# Real clients used by the tests. Installed here, never assumed.
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
need=()
command -v swaks >/dev/null 2>&1 || need+=(swaks)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v dig >/dev/null 2>&1 || need+=(dnsutils)
command -v msmtp >/dev/null 2>&1 || need+=(msmtp)
command -v curl >/dev/null 2>&1 || need+=(curl)
# The relay tests' smarthost; Debian's own python3 (a pyenv python3 earlier
# in PATH would not see it).
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || need+=(python3-aiosmtpd)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
# The web UI's browser tests drive Debian's Chromium (headless).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ! command -v postfix >/dev/null 2>&1; then
  # Only the programs are wanted: no system mail server is configured or started.
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  need+=(postfix)
fi
if ((${#need[@]})); then
  echo "== installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# nodemailer for the interop tests, and playwright-core for the browser
# tests, from the committed lockfiles.
if [ ! -d test/interop/node_modules/nodemailer ]; then
  echo "== npm ci (test/interop)"
  (cd test/interop && npm ci --no-audit --no-fund)
fi
if [ ! -d test/browser/node_modules/playwright-core ]; then
  echo "== npm ci (test/browser)"
  (cd test/browser && npm ci --no-audit --no-fund)
fi

echo "== gofmt"
unformatted=$(gofmt -l $(find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 ./...

echo "== fuzz smoke"
# Budgets are run counts, not durations: with -fuzztime=10s, Go 1.26's fuzz
# coordinator can report "context deadline exceeded" as a failure at the
# deadline although no input failed (golang/go#75804, fixed in Go 1.27).
# Each count is about five to ten seconds on a 2-core machine.
fuzz() { go test -run='^$' -fuzz="^$1\$" -fuzztime="$2" -fuzzminimizetime=200x "$3"; }
fuzz FuzzDotReader 300000x ./internal/smtp
fuzz FuzzParseCommand 300000x ./internal/smtp
fuzz FuzzSession 20000x ./internal/smtpd
fuzz FuzzParseBDAT 50000x ./internal/smtpd
fuzz FuzzServer 150000x ./internal/sasl
fuzz FuzzPLAIN 150000x ./internal/sasl
fuzz FuzzParse 100000x ./internal/mimeview
fuzz FuzzMessage 150000x ./internal/diagnose
fuzz FuzzPlainDate 300000x ./internal/diagnose
fuzz FuzzDNSAnswer 50000x ./internal/policy/traps
fuzz FuzzParseQuery 50000x ./internal/index
fuzz FuzzSearch 5000x ./internal/index

echo "== cross-builds"
GOOS=windows GOARCH=amd64 go build -o /dev/null ./cmd/fakesmtp
GOOS=darwin GOARCH=arm64 go build -o /dev/null ./cmd/fakesmtp
GOOS=linux GOARCH=arm64 go build -o /dev/null ./cmd/fakesmtp

echo "== all tests passed"
