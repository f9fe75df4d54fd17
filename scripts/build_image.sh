#!/usr/bin/env bash
# Build the container image and prove it runs: no base image can be pulled here, so the Debian
# base is made locally with debootstrap and tagged as the Dockerfile's FROM; then `podman build`
# (chroot isolation, vfs storage: no daemon, no overlay mounts needed) and `podman run` on the
# demo video until /metrics answers with analysed frames and per-zone occupancy. Prints the
# duration and the image size. Needs root and the Debian and PyPI registries; takes minutes.
#
#   scripts/build_image.sh              build (the base only when missing), run, check
#   REBUILD_BASE=1 scripts/build_image.sh   make the base again (new Debian point release)
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${IMAGE:-localhost/wartezone:latest}"
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

# 3. The image.
echo "build_image: building $IMAGE"
# The host's CA bundle, for a network that inspects TLS: a build secret, so it is in no layer.
ca_bundle="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
podman build --isolation chroot --format docker --pull=never --secret "id=ca-bundle,src=$ca_bundle" \
    --tag "$IMAGE" . >/tmp/wartezone-build.log 2>&1 \
    || { tail -40 /tmp/wartezone-build.log >&2; echo "build_image: build failed (log: /tmp/wartezone-build.log)" >&2; exit 1; }
built=$(date +%s)

# Resource limits within this machine's: root here lacks CAP_SYS_RESOURCE, so podman's defaults
# (nofile 1048576) cannot be set. No systemd runs the health timers: the check runs by hand below.
run_options=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096 --health-interval disable)

# 4. What the runtime stage must not have.
podman run --rm --network none "${run_options[@]}" --entrypoint /bin/sh "$IMAGE" -c '
    for tool in gcc cc c++ make; do command -v "$tool" >/dev/null && { echo "compiler in image: $tool"; exit 1; }; done
    python -c "import importlib.util as u, sys; sys.exit(\"torch in image\" if u.find_spec(\"torch\") else 0)"
    [ "$(id -u)" != 0 ] || { echo "runs as root"; exit 1; }'

# 5. Run it on the demo video with the mounted config; /metrics must answer with analysed frames.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
config="$(mktemp --suffix=.yaml)"
cleanup() { command podman --storage-driver vfs rm -f "$NAME" >/dev/null 2>&1 || true; rm -f "$config"; }
trap cleanup EXIT
cp deploy/config/edge.yaml "$config"
chmod 644 "$config"
mounts=(-v "$config:/etc/wartezone/wartezone.yaml:ro" -v "$PWD/.cache/vtest.avi:/data/vtest.avi:ro")
if podman run -d --name "$NAME" "${run_options[@]}" -p "127.0.0.1:$port:9464" "${mounts[@]}" "$IMAGE" >/dev/null 2>/tmp/wartezone-run.err; then
    network="port map 127.0.0.1:$port -> 9464"
else
    # No container network here (no netavark/slirp): share the host's, and so listen on loopback
    # only, as the box would outside a container.
    echo "build_image: port map failed ($(tail -1 /tmp/wartezone-run.err)); using --network host"
    command podman --storage-driver vfs rm -f "$NAME" >/dev/null 2>&1 || true
    sed -i "s/host: 0.0.0.0/host: 127.0.0.1/; s/port: 9464/port: $port/" "$config"
    podman run -d --name "$NAME" "${run_options[@]}" --network host "${mounts[@]}" "$IMAGE" >/dev/null
    network="host network, 127.0.0.1:$port"
fi
deadline=$((SECONDS + 180))
until metrics="$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/metrics', timeout=5).read().decode())" 2>/dev/null)" \
    && grep -qE '^wartezone_frames_analysed_total\{[^}]*\} [1-9]' <<<"$metrics" \
    && grep -q '^wartezone_zone_occupancy{' <<<"$metrics"; do
    if [ $SECONDS -ge $deadline ] || [ "$(podman inspect -f '{{.State.Running}}' "$NAME")" != true ]; then
        podman logs "$NAME" 2>&1 | tail -30 >&2
        echo "build_image: the container did not serve analysed frames on /metrics within 180 s" >&2
        exit 1
    fi
    sleep 2
done
podman healthcheck run "$NAME" >/dev/null && health=healthy || health="unhealthy (exit $?)"
finished=$(date +%s)

echo "build_image: /metrics answers ($network):"
grep -E '^wartezone_(frames_analysed_total|zone_occupancy|camera_up)\{' <<<"$metrics" | sed 's/^/    /'
echo "build_image: HEALTHCHECK: $health"
echo "build_image: image $IMAGE, $(podman image inspect -f '{{.Size}}' "$IMAGE" | numfmt --to=si --suffix=B)" \
    "($(podman image inspect -f '{{.Size}}' "$BASE" | numfmt --to=si --suffix=B) of it the Debian base)"
echo "build_image: total $((finished - started)) s (build $((built - started)) s, run check $((finished - built)) s)"
[ "$health" = healthy ]
