#!/bin/sh
# udhcpc hook for the appliance's DHCP-client ports: iproute2 only, never /etc/resolv.conf.
# The DNS servers the lease gives go to $NETCONFIG_DNS_FILE (dnsmasq forwards to them).
case "$1" in
    deconfig)
        ip -4 addr flush dev "$interface"
        ip link set "$interface" up
        ;;
    bound|renew)
        ip -4 addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        if [ -n "$router" ]; then
            set -- $router
            ip route replace default via "$1" dev "$interface" metric 50
        fi
        if [ -n "$NETCONFIG_DNS_FILE" ]; then
            : > "$NETCONFIG_DNS_FILE"
            for server in $dns; do echo "nameserver $server" >> "$NETCONFIG_DNS_FILE"; done
        fi
        ;;
esac
exit 0
