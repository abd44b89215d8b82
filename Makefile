# Two commands: `make run` starts the appliance in lab mode, `make test` runs the tests.
# Both install what is missing first (Debian packages, then a virtualenv).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# dnsmasq-base: the LAN DHCP server (netconfig; -base: no host DNS service started); udhcpc: WAN DHCP client.
# libsox-fmt-mp3: sox reads uploaded MP3 prompts only with it (appliance.sounds).
# fdisk (sfdisk): USB storage initialization; smbclient, libnfs-utils (and its libnfs): userspace SMB/NFS clients
# for backup shares (storage/shares.py; no kernel cifs/nfs, no mount rights needed).
# chrony: the NTP server on LAN1 (lab LAN: chronyd -x in LAN1's namespace; the image: chrony.service).
RUN_DEBS := kamailio kamailio-sqlite-modules kamailio-utils-modules kamailio-extra-modules kamailio-tls-modules sox libsox-fmt-mp3 espeak-ng dnsmasq-base udhcpc fdisk smbclient libnfs-utils iputils-ping chrony
# openssh-server: the scheduled-backup SFTP destination test runs its own sshd on a loopback port.
# shellcheck: tests/unit/test_rootfs.py lints image/build.sh.
# samba, nfs-ganesha, nfs-ganesha-vfs: share tests run a real smbd and a userspace NFSv4 server on loopback ports.
TEST_DEBS := $(RUN_DEBS) sip-tester chromium isc-dhcp-client openssh-server shellcheck samba nfs-ganesha nfs-ganesha-vfs
ARGS ?=

.PHONY: run test lint bench deps-run deps-test clean

run: deps-run $(VENV)/.installed
	$(VENV)/bin/appliance run $(ARGS)

# Tests never send a DNS query off this machine (tools/loopback-dns: every name is unknown).
test: deps-test $(VENV)/.installed lint
	./tools/loopback-dns $(PY) -m pytest -n 2 --dist loadfile $(ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check appliance webui tests benchmarks serialconsole netconfig storage

bench: deps-test $(VENV)/.installed
	$(PY) -m benchmarks.run_all

# Installs only the Debian packages that are not there yet.
deps-run:
	@./tools/ensure-debs $(RUN_DEBS)

deps-test:
	@./tools/ensure-debs $(TEST_DEBS)

$(VENV)/.installed: setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) var test-artifacts benchmarks/out *.egg-info
