#!/usr/bin/env bash
# Opens a jam-eval report in a real browser (headless Chromium, Debian's package) and writes a
# screenshot of it, to check by eye what a reader sees: charts, colour bars, tables, banners.
#
#   bash scripts/report-screenshot.sh <report/index.html> <out.png> [width] [height]
#
# width × height is the browser window in CSS pixels (default 1300 × 6000); the screenshot is
# the window, so make it tall enough for the whole page. Installs chromium with apt-get when
# it is missing (as scripts/setup.sh does for the build's packages). As root, Chromium needs
# --no-sandbox, which this script passes then.
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
if [ $# -lt 2 ] || [ $# -gt 4 ]; then usage >&2; exit 2; fi
index=$(realpath -e -- "$1" 2>/dev/null) || { echo "report-screenshot: $1: no such file (run jam-eval first)" >&2; exit 1; }
out=$(realpath -m -- "$2")
width=${3:-1300}
height=${4:-6000}

browser=""
for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then browser=$(command -v "$name"); break; fi
done
if [ -z "$browser" ]; then
    echo "report-screenshot: installing chromium (Debian package)" >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
    browser=$(command -v chromium) || { echo "report-screenshot: chromium did not install" >&2; exit 1; }
fi

flags=(--headless --disable-gpu --hide-scrollbars --force-device-scale-factor=1
       --window-size="$width,$height" --screenshot="$out")
if [ "$(id -u)" -eq 0 ]; then flags+=(--no-sandbox); fi
# A private profile, so that a running browser or a stale lock does not interfere.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$out"
if ! "$browser" "${flags[@]}" --user-data-dir="$profile" "file://$index" >"$profile/log" 2>&1 || [ ! -s "$out" ]; then
    echo "report-screenshot: chromium wrote no screenshot; its output:" >&2
    cat "$profile/log" >&2
    exit 1
fi
echo "report-screenshot: $out (${width}x${height}) of $index" >&2
