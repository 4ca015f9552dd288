#!/usr/bin/env bash
# Installs the Debian packages the tests' local world needs, if any is missing (needs root on Debian).
set -euo pipefail
need=()
command -v aria2c >/dev/null || need+=(aria2)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v opentracker >/dev/null || [ -x /usr/bin/opentracker ] || need+=(opentracker)
command -v mktorrent >/dev/null || need+=(mktorrent)
command -v ansible-playbook >/dev/null || need+=(ansible-core)
[ -d /usr/lib/python3/dist-packages/ansible_collections/community/digitalocean ] || need+=(ansible)
/usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
[ -d /usr/share/python-wheels ] && ls /usr/share/python-wheels/wheel-*.whl >/dev/null 2>&1 || need+=(python3-wheel-whl python3-pip)
# The local package index repacks these from Debian's installed packages.
/usr/bin/python3 -c 'import requests, six, _cffi_backend, cryptography, jinja2, yaml, resolvelib' 2>/dev/null \
  || need+=(python3-requests python3-six python3-cffi-backend python3-cryptography python3-jinja2 python3-yaml python3-resolvelib)
command -v zip >/dev/null || need+=(zip)
# The sandbox's browser test (test/world/sandbox): Debian's Chromium, driven by playwright-core, which downloads no
# browser of its own (as root it needs --no-sandbox, see the test); the emoji font so the screenshot shows the bot's
# ✅ and ▶️ rather than empty boxes.
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need+=(fonts-noto-color-emoji)
# The fake droplets: unshare/nsenter/flock (util-linux), ip netns + veth + bridge (iproute2), mknod (coreutils).
{ command -v unshare && command -v nsenter && command -v flock && command -v losetup; } >/dev/null || need+=(util-linux)
# The fake's block storage volumes: ext4 (mkfs.ext4) in sparse files attached as loop devices (losetup).
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v ip >/dev/null || need+=(iproute2)
command -v pgrep >/dev/null || need+=(procps)
check_kernel() {
  # Network namespaces, veth pairs, bridges and overlayfs come from the kernel, not from a package: say so early.
  [ "$(id -u)" = 0 ] || return 0
  command -v ip >/dev/null || return 0
  local probe="dswprobe$$"
  if ! ip link add "$probe" type bridge 2>/dev/null; then
    echo "This kernel cannot create a bridge (ip link add type bridge): the fake droplets need bridge and veth support." >&2
  else
    ip link delete "$probe"
  fi
  grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || echo "No overlayfs in this kernel: fake droplets need it." >&2
  [ -e /dev/loop-control ] || modprobe loop 2>/dev/null || echo "No loop devices (/dev/loop-control): the fake's volumes need them." >&2
}
if [ ${#need[@]} -eq 0 ]; then
  check_kernel
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "Missing Debian packages: ${need[*]}. Run as root, or: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
check_kernel
