#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine with Python >= 3.11 and the package registries:
# Debian packages, the virtual environment .venv, the demo video; with --dev also what the tests
# need (test tools, the ultralytics backend with torch, the model checkpoint).
set -euo pipefail
cd "$(dirname "$0")/.."

dev=false
[ "${1:-}" = "--dev" ] && dev=true

# libgl1/libglib2.0-0: opencv-python loads them at import. For the tests: prometheus (the server and
# promtool), prometheus-alertmanager (amtool), chromium (the reception page in a real browser), nodejs
# (node --check on the setup page's script), and GStreamer's RTSP server with Debian's python3-gi (a
# real camera stream to break and restore).
apt_packages=(libgl1 libglib2.0-0)
$dev && apt_packages+=(prometheus prometheus-alertmanager chromium nodejs
    gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
    gstreamer1.0-plugins-ugly gstreamer1.0-libav python3-gi)
missing=()
for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$python" -m venv .venv
fi
# The demo runs both the edge box and the API; a box or an API server alone installs one extra.
extras="[edge,api]"
torch_pins=()
if $dev; then
    extras="[edge,api,dev,ultralytics]"
    # torch and torchvision as a pair: ultralytics needs both, and mismatched pairs fail to import.
    torch_pins=(torch==2.14.1 torchvision==0.29.1)
fi
# Reinstall only when the declared dependencies changed since the last set-up.
stamp=".venv/.installed$extras"
wanted="$(cat pyproject.toml scripts/setup.sh | sha256sum)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "setup: installing wartezone$extras into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".$extras" "${torch_pins[@]}"
    echo "$wanted" >"$stamp"
fi

# The demo video is OpenCV's sample vtest.avi from Debian's opencv-doc package; not committed.
if [ ! -f .cache/vtest.avi ]; then
    echo "setup: fetching the demo video (Debian package opencv-doc)"
    mkdir -p .cache
    work="$(mktemp -d)"
    chmod 777 "$work"  # apt's download user must be able to write there
    (cd "$work" && apt-get download opencv-doc >/dev/null 2>&1 || { $sudo apt-get update -qq && apt-get download opencv-doc >/dev/null; })
    dpkg-deb --fsys-tarfile "$work"/opencv-doc_*.deb \
        | tar -xO ./usr/share/doc/opencv-doc/examples/data/vtest.avi >.cache/vtest.avi
    rm -rf "$work"
fi

if $dev; then
    PYTHON=.venv/bin/python models/fetch_checkpoint.sh
fi
echo "setup: done"
