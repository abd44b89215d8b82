from setuptools import find_packages, setup

setup(
    name="appliance",
    version="0.1.0",
    description="On-premise PBX appliance: Kamailio SIP edge, pjsua2 call core, Bottle web UI",
    python_requires=">=3.11",
    packages=find_packages(include=["appliance*", "webui*", "serialconsole*", "netconfig*", "storage*"]),
    include_package_data=True,
    package_data={
        "appliance": ["sipedge/templates/*", "sounds/*", "provisioning/templates/*"],
        "webui": ["templates/*", "static/*", "locale/*/LC_MESSAGES/*"],
        "netconfig": ["udhcpc.sh"],
    },
    install_requires=[
        "pjsua2-python==2.15.1.post1",
        "bottle>=0.13",
        # Threaded WSGI server with TLS; Bottle's own server is for development only.
        "cheroot>=10",
        "peewee>=3.17",
        "cryptography>=42",
        "psutil>=5.9",
        # SRV/NAPTR resolution of trunk providers' host names (RFC 3263), DNS failures told apart.
        "dnspython>=2.4",
        # SSH menu server with SFTP limited to the backup folder (serialconsole.ssh).
        "paramiko>=3.4",
        # RS-232 console menu, 19200 8N1 (serialconsole.serial_port).
        "pyserial>=3.5",
        # Interfaces read inside network namespaces (netconfig.readif).
        "netifaces>=0.11",
        # USB storage: block devices appearing and disappearing (storage.watcher).
        "pyudev>=0.24",
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "pytest-timeout>=2.3",
            # Two test processes, one module each at a time (make test): the suite's real daemons mostly
            # wait on timers, so this halves its time; ports are split per process (tests/support/ports.py).
            "pytest-xdist>=3.5",
            # Tone detection in recordings (FFT).
            "numpy>=1.26",
            # Drives Debian's Chromium; no browser download.
            "playwright>=1.45",
            "ruff>=0.5",
            # A real SMTP server on loopback (AUTH, STARTTLS, implicit TLS) for the mail tests.
            "aiosmtpd>=1.4",
        ],
    },
    entry_points={"console_scripts": ["appliance=appliance.cli:main"]},
)
