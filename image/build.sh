#!/usr/bin/env bash
# The appliance's Debian root file system as a tarball, with mmdebstrap (see image/README.md: not yet run by CI).
#
#   image/build.sh [OUTPUT.tar]          (root, or a user mmdebstrap's unshare mode works for)
#
# What goes in: Debian (SUITE, default bookworm) with the Makefile's RUN_DEBS (their one home) and what a booting
# system needs; this project as a wheel in a virtualenv at /opt/appliance (its Python dependencies as wheels built
# here first: `pip wheel`), /usr/bin/appliance; rootfs/ laid over it (systemd units, masks, default network,
# chrony and sysctl files); appliance.target, systemd-networkd and chrony enabled; the system prompts generated.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
output=${1:-$here/out/appliance-rootfs.tar}
suite=${SUITE:-bookworm}
mirror=${MIRROR:-}  # empty: mmdebstrap's default Debian mirror
python=${PYTHON:-python3}

command -v mmdebstrap >/dev/null || { echo "build.sh: mmdebstrap is missing (apt-get install mmdebstrap)" >&2; exit 1; }

# One home for the run-time packages: the Makefile's RUN_DEBS line.
run_debs=$(sed -n 's/^RUN_DEBS := //p' "$repo/Makefile")
[ -n "$run_debs" ] || { echo "build.sh: no RUN_DEBS in $repo/Makefile" >&2; exit 1; }
# A system that boots: kernel, systemd as init, udev (USB storage events), networkd + resolved (the WAN's DNS
# servers from its DHCP lease, into /etc/resolv.conf), Python for the appliance.
# Not openssh-server: the SSH console menu is the appliance's own (port 22).
system_debs="linux-image-amd64 systemd systemd-sysv systemd-resolved udev dbus iproute2 kmod e2fsprogs ca-certificates python3 python3-venv"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The project and every Python dependency as wheels, installed inside the image without reaching PyPI from there.
"$python" -m pip wheel --quiet --wheel-dir "$work/wheels" "$repo"

mkdir -p "$(dirname "$output")"
# netconfig and the units name the ports eth0-eth3: 99-default.link masked keeps the kernel's names instead of
# Debian's predictable ones (enp1s0...), in the order the kernel finds the network cards.
# shellcheck disable=SC2016  # the hooks' $1 (the new root) is expanded by mmdebstrap, not here
mmdebstrap --variant=apt --format=tar \
  --include="${system_debs// /,},${run_debs// /,}" \
  --customize-hook="sync-in $work/wheels /opt/appliance-wheels" \
  --customize-hook='chroot "$1" python3 -m venv /opt/appliance' \
  --customize-hook='chroot "$1" /opt/appliance/bin/pip install --quiet --no-index --find-links /opt/appliance-wheels appliance' \
  --customize-hook='rm -rf "$1/opt/appliance-wheels"' \
  --customize-hook='ln -sf /opt/appliance/bin/appliance "$1/usr/bin/appliance"' \
  --customize-hook="sync-in $repo/rootfs /" \
  --customize-hook='mkdir -p "$1/usr/share/doc/appliance" && mv "$1/README.md" "$1/usr/share/doc/appliance/rootfs-README.md"' \
  --customize-hook='ln -sf /dev/null "$1/etc/systemd/network/99-default.link"' \
  --customize-hook='systemctl --root="$1" enable appliance.target systemd-networkd.service systemd-resolved.service chrony.service' \
  --customize-hook='chroot "$1" appliance prompts --image --data-dir /var/lib/appliance' \
  "$suite" "$output" ${mirror:+"$mirror"}

echo "root file system: $output"
