"""The appliance's network: the four ports and the three scenarios, the DHCP server on LAN1, the lab LAN.

- `models`: the store tables (schema V16): scenario + shaper limits, the ports, DHCP settings, static leases.
- `validation`: pure checks of a network configuration and of DHCP settings (errors name the JSON field).
- `plan`: what to run to make a namespace match a configuration: iproute2 commands, the tc plan of the
  traffic shaper, the image's persistent systemd-networkd files.
- `netns`: running commands and reading interfaces (netifaces) in a network namespace, or in the current one.
- `apply`: applying live with the 60 s confirmation window and the automatic rollback.
- `dhcp`: dnsmasq rendered from the store, started/reloaded, its leases read back (vendor from the OUI).
- `service`: what the web UI and API call.
- `lablan`: `appliance run --lab-lan`: LAN1 in a namespace, its far end in `lan1-client`.

Every live change goes to a `Target`: a named network namespace (tests, lab LAN) or, on the image only, the
namespace the process runs in. Nothing here ever touches the host's interfaces in lab mode.
"""

PORTS = ("eth0", "eth1", "eth2", "eth3")
BRIDGE = "wbr0"
SCENARIOS = ("shared", "separate", "shaper")
