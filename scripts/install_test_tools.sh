#!/usr/bin/env bash
# Debian packages some tests drive, installed when missing, without starting any system service:
# nginx-light for the split-deployment tests (tests/services/test_front_door.py) and chromium for
# the web console's browser tests (tests/services/web); kubectl (kustomize built in) for
# tests/infra/test_kubernetes.py where an apt source has it (Kubernetes' or Google Cloud's apt
# repository; Debian's own kubernetes-client is 1.20, too old for the manifests). Needs root and apt;
# otherwise says what to do.
set -euo pipefail
missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v kubectl >/dev/null || ! apt-cache show kubectl >/dev/null 2>&1 || missing+=(kubectl)
if [ ${#missing[@]} = 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "not installed: ${missing[*]}; the tests that need them will be skipped (install the Debian packages to run them)" >&2
  exit 0
fi
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made_policy=1; fi
trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
