#!/bin/sh
# Sets up a fresh Debian 12 machine (with Node 20) to build, run and test vigil:
# the Debian packages that vigil and its tests start for real, then `npm ci`.
set -eu
cd "$(dirname "$0")/.."

PACKAGES="
  zookeeper default-jre-headless
  nats-server
  iproute2 nftables libnftables-dev iputils-ping procps
  ipvsadm keepalived tshark
  qemu-system-x86 busybox-static kmod cpio xz-utils zstd
  sqlite3 prometheus
  chromium
  docker.io docker-compose debootstrap
  python3 make g++
"

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  $SUDO apt-get update -q
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi

# The Debian packages start their daemons where systemd runs; vigil's tests start their
# own on free loopback ports, so stop and disable the system ones if they came up.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  for s in zookeeper nats-server keepalived prometheus; do
    $SUDO systemctl disable --now "$s" >/dev/null 2>&1 || true
  done
fi

npm ci
# The kernel and initramfs of the VM in which the IPVS tests run (test/vm/ipvs-vm.ts),
# from Debian's linux-image-amd64 package (downloaded, not installed).
npx tsx test/vm/ipvs-vm.ts build
# The base images of the Docker test (test/docker/base.ts): a Debian 12 root filesystem
# from Debian's packages with this machine's Node 20 (no image registry is reachable).
npx tsx test/docker/base.ts build
echo "setup: done. Run the tests with: npm test"
