#!/usr/bin/env bash
# Installs Debian's headless Chromium for the onboarding browser test when it is missing.
# Without root or apt the browser test skips itself with a visible message.
set -u
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the browser test (apt-get)…"
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/tmp/zoomwatch-chromium.log 2>&1; then
    exit 0
  fi
  echo "chromium could not be installed (see /tmp/zoomwatch-chromium.log); the browser test will skip"
else
  echo "no chromium and no root apt-get: the browser test will skip"
fi
exit 0
