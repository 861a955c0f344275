#!/usr/bin/env bash
# The main job (`npm run main`): the whole release pipeline rehearsed on this machine, offline, with real
# tools and local stand-ins (see test/rehearsal/). `npm run main -- --live` asks the real upstreams instead,
# as a dry run.
exec bash "$(dirname "${BASH_SOURCE[0]}")/rehearsal/rehearse.sh" "$@"
