#!/usr/bin/env bash
# The audit report's page is tested in a real browser (tests/test_audit_render.py): Debian's chromium and
# chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver). Installs them when missing, through apt-get
# (with sudo unless this runs as root); elsewhere says what the test needs and stops.
set -euo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "rlcert: the browser test needs Chromium and ChromeDriver at /usr/bin/chromium and /usr/bin/chromedriver" \
         "(Debian's chromium and chromium-driver packages); install them and run make test again" >&2
    exit 1
fi
as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then "$@"; else sudo "$@"; fi
}
as_root apt-get update
# env: sudo does not pass DEBIAN_FRONTEND on.
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver
