#!/bin/sh
# Debian peers: Kannel (bearerbox + smsbox) as an ESME towards smsgate for the interop tests, and
# wrk and Kannel's fakesmsc (kannel-extras) for the benchmarks in bench/, and chromium with its
# chromedriver for the console's browser tests (tests/admin/browser).
# Run by `make peers`, and by `make test` only under CI=true: a plain `make test` never installs
# system packages (the tests that need a missing peer skip and say so).
# Idempotent: installs only what is missing. Needs root (CI runs as root); otherwise prints
# what to run and exits 0, so `make peers` still works for an unprivileged developer.
set -e
if [ -x /usr/sbin/bearerbox ] && [ -x /usr/sbin/smsbox ] && [ -x /usr/lib/kannel/test/fakesmsc ] \
    && command -v wrk >/dev/null 2>&1 \
    && command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "a peer is missing: run 'sudo apt-get install -y kannel kannel-extras wrk chromium chromium-driver' (the tests that need it skip)" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends kannel kannel-extras wrk chromium chromium-driver >/dev/null
# The package starts a system bearerbox on its default ports; the tests run their own.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now kannel >/dev/null 2>&1 || true; fi
if [ -x /etc/init.d/kannel ]; then /etc/init.d/kannel stop >/dev/null 2>&1 || true; fi
