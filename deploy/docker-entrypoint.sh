#!/bin/sh
# The container's entry point: `smsgate ARGS`, `serve` when none are given.
# On the first start on an empty volume, `smsgate serve` on SQLite finds no database file:
# `smsgate init` creates it first (an existing file is left to serve, which migrates SQLite).
set -e
if [ "$#" -eq 0 ]; then
    set -- serve
fi
if [ "$1" = serve ]; then
    case "${SMSGATE_DATABASE:-}" in
        sqlite:///*)
            db="${SMSGATE_DATABASE#sqlite:///}"
            if [ ! -e "$db" ]; then
                smsgate init
            fi
            ;;
    esac
fi
exec smsgate "$@"
