#!/usr/bin/env bash
# Build the two container images, one per role (the Dockerfile's targets `api` and `edge`), and
# prove they run: no base image can be pulled here, so the Debian base is made locally with
# debootstrap and tagged as the Dockerfile's FROM; then `podman build` (chroot isolation, vfs
# storage: no daemon, no overlay mounts needed) and `podman run` of the edge on the demo video
# until /metrics answers with analysed frames and per-zone occupancy, and of the API beside it
# until its /metrics shows the alert state of the edge's zones; both HEALTHCHECKs must pass.
# Prints the durations and the image sizes. Needs root and the Debian and PyPI registries; takes minutes.
#
#   scripts/build_image.sh              build (the base only when missing), run, check
#   REBUILD_BASE=1 scripts/build_image.sh   make the base again (new Debian point release)
set -euo pipefail
cd "$(dirname "$0")/.."

EDGE_IMAGE="${EDGE_IMAGE:-localhost/wartezone-edge:latest}"
API_IMAGE="${API_IMAGE:-localhost/wartezone-api:latest}"
BASE="$(sed -n 's/^FROM \(localhost\/[^ ]*\) AS runtime-base$/\1/p' Dockerfile)"
SUITE="${SUITE:-bookworm}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
NAME="wartezone-check-$$"
started=$(date +%s)

[ -n "$BASE" ] || { echo "build_image: no 'FROM localhost/... AS runtime-base' line in the Dockerfile" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "build_image: run as root (podman build --isolation chroot, debootstrap)" >&2; exit 1; }
[ -f .cache/vtest.avi ] || scripts/setup.sh  # the demo video the check runs on

# 1. The tools, from Debian's registry.
missing=()
for package in podman buildah runc debootstrap; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "build_image: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
podman() { command podman --storage-driver vfs "$@"; }

# 2. The base: Debian minbase by debootstrap, imported and tagged as the Dockerfile's FROM.
if [ -n "${REBUILD_BASE:-}" ] || ! podman image exists "$BASE"; then
    echo "build_image: making $BASE with debootstrap ($SUITE, minbase)"
    rootfs="$(mktemp -d)"
    trap 'rm -rf "$rootfs"' EXIT
    chmod 755 "$rootfs"  # it becomes the image's /: mktemp's 0700 would lock out the non-root user
    debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >/dev/null
    cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/tmp/* "$rootfs"/var/log/*.log
    tar --numeric-owner -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
fi

# 3. The images: the API first (its stages come first in the Dockerfile), then the edge, which
# reuses the cached shared stages.
# The host's CA bundle, for a network that inspects TLS: a build secret, so it is in no layer.
ca_bundle="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
build() {  # TARGET IMAGE
    local log="/tmp/wartezone-build-$1.log" begun
    begun=$(date +%s)
    echo "build_image: building $2 (target $1)"
    podman build --isolation chroot --format docker --pull=never --secret "id=ca-bundle,src=$ca_bundle" \
        --target "$1" --tag "$2" . >"$log" 2>&1 \
        || { tail -40 "$log" >&2; echo "build_image: build of $1 failed (log: $log)" >&2; exit 1; }
    echo "build_image: $2 built in $(($(date +%s) - begun)) s"
}
build api "$API_IMAGE"
build edge "$EDGE_IMAGE"
built=$(date +%s)

# Resource limits within this machine's: root here lacks CAP_SYS_RESOURCE, so podman's defaults
# (nofile 1048576) cannot be set. No systemd runs the health timers: the checks run by hand below.
run_options=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096 --health-interval disable)

# 4. What each image must not have: a compiler, root, the other role's stack.
must_not_have() {  # IMAGE MODULE...: none of the modules importable, no compiler, not root
    local image="$1"
    shift
    podman run --rm --network none "${run_options[@]}" --entrypoint /bin/sh "$image" -c '
        for tool in gcc cc c++ make; do command -v "$tool" >/dev/null && { echo "compiler in image: $tool"; exit 1; }; done
        [ "$(id -u)" != 0 ] || { echo "runs as root"; exit 1; }
        python -c "import importlib.util as u, sys
found = [m for m in sys.argv[1:] if u.find_spec(m)]
sys.exit(f\"in the image: {found}\" if found else 0)" "$@"' sh "$@"
}
must_not_have "$EDGE_IMAGE" torch ultralytics fastapi starlette uvicorn httpx api
must_not_have "$API_IMAGE" cv2 numpy openvino onnxruntime torch ultralytics edge

# 5. Run the edge on the demo video with the mounted config; /metrics must answer with analysed
# frames. The API runs in the edge's network namespace (as one site on one machine), so it reads
# the edge at 127.0.0.1:9464 and both ports are published on the edge's container.
edge_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
api_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
edge_config="$(mktemp --suffix=.yaml)"
api_config="$(mktemp --suffix=.yaml)"
cleanup() {
    for name in "$NAME-api" "$NAME-edge"; do command podman --storage-driver vfs rm -f "$name" >/dev/null 2>&1 || true; done
    rm -f "$edge_config" "$api_config"
}
trap cleanup EXIT
cp deploy/config/edge.yaml "$edge_config"
sed 's|http://edge:9464/metrics|http://127.0.0.1:9464/metrics|' deploy/config/api.yaml >"$api_config"
chmod 644 "$edge_config" "$api_config"
mounts=(-v "$edge_config:/etc/wartezone/wartezone.yaml:ro" -v "$PWD/.cache/vtest.avi:/data/vtest.avi:ro")
if podman run -d --name "$NAME-edge" "${run_options[@]}" -p "127.0.0.1:$edge_port:9464" -p "127.0.0.1:$api_port:8088" \
    "${mounts[@]}" "$EDGE_IMAGE" >/dev/null 2>/tmp/wartezone-run.err; then
    network="port maps 127.0.0.1:$edge_port -> 9464, 127.0.0.1:$api_port -> 8088"
    api_network=(--network "container:$NAME-edge")
else
    # No container network here (no netavark/slirp): share the host's, and so listen on loopback
    # only, as the box would outside a container.
    echo "build_image: port map failed ($(tail -1 /tmp/wartezone-run.err)); using --network host"
    command podman --storage-driver vfs rm -f "$NAME-edge" >/dev/null 2>&1 || true
    sed -i "s/host: 0.0.0.0/host: 127.0.0.1/; s/port: 9464/port: $edge_port/" "$edge_config"
    sed -i "s/host: 0.0.0.0/host: 127.0.0.1/; s/port: 8088/port: $api_port/; s|127.0.0.1:9464|127.0.0.1:$edge_port|" "$api_config"
    podman run -d --name "$NAME-edge" "${run_options[@]}" --network host "${mounts[@]}" "$EDGE_IMAGE" >/dev/null
    network="host network, 127.0.0.1:$edge_port and 127.0.0.1:$api_port"
    api_network=(--network host)
fi
scrape() { python3 -c "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())" "$1" 2>/dev/null; }
wait_for() {  # NAME WHAT: retries the condition that follows until it holds, for 180 s
    local name="$1" what="$2" deadline=$((SECONDS + 180))
    shift 2
    until "$@"; do
        if [ $SECONDS -ge $deadline ] || [ "$(podman inspect -f '{{.State.Running}}' "$name")" != true ]; then
            podman logs "$name" 2>&1 | tail -30 >&2
            echo "build_image: $what within 180 s" >&2
            exit 1
        fi
        sleep 2
    done
}
edge_serves() {
    metrics="$(scrape "http://127.0.0.1:$edge_port/metrics")" \
        && grep -qE '^wartezone_frames_analysed_total\{[^}]*\} [1-9]' <<<"$metrics" \
        && grep -q '^wartezone_zone_occupancy{' <<<"$metrics"
}
wait_for "$NAME-edge" "the edge did not serve analysed frames on /metrics" edge_serves
podman healthcheck run "$NAME-edge" >/dev/null && edge_health=healthy || edge_health="unhealthy (exit $?)"

# 6. The API beside it, with throwaway tokens; its /metrics must show the state of the edge's zones.
tokens() { python3 -c 'import json, secrets; print(json.dumps([secrets.token_hex(16)]))'; }
podman run -d --name "$NAME-api" "${run_options[@]}" "${api_network[@]}" \
    -e "WARTEZONE_API__AUTH__DESK_TOKENS=$(tokens)" -e "WARTEZONE_API__AUTH__LEAD_TOKENS=$(tokens)" \
    -v "$api_config:/etc/wartezone/api.yaml:ro" "$API_IMAGE" >/dev/null
api_serves() {
    api_metrics="$(scrape "http://127.0.0.1:$api_port/metrics")" \
        && grep -q '^wartezone_alert_state{.*zone="path-east"' <<<"$api_metrics"
}
wait_for "$NAME-api" "the API did not show the edge's zones on /metrics" api_serves
podman healthcheck run "$NAME-api" >/dev/null && api_health=healthy || api_health="unhealthy (exit $?)"
finished=$(date +%s)

size() { podman image inspect -f '{{.Size}}' "$1" | numfmt --to=si --suffix=B; }
echo "build_image: ($network)"
echo "build_image: edge /metrics answers:"
grep -E '^wartezone_(frames_analysed_total|zone_occupancy|camera_up)\{' <<<"$metrics" | sed 's/^/    /'
echo "build_image: API /metrics answers:"
grep -E '^wartezone_alert_state\{.*\} 1' <<<"$api_metrics" | sed 's/^/    /'
echo "build_image: HEALTHCHECK: edge $edge_health, API $api_health"
echo "build_image: images $EDGE_IMAGE $(size "$EDGE_IMAGE"), $API_IMAGE $(size "$API_IMAGE")" \
    "($(size "$BASE") of each the Debian base, stored once)"
echo "build_image: total $((finished - started)) s (build $((built - started)) s, run checks $((finished - built)) s)"
[ "$edge_health" = healthy ] && [ "$api_health" = healthy ]
