"""Phone provisioning: the files phones fetch at boot, the devices they are, the phonebook they show.

- `vendors/`: one module per phone vendor (file names it answers, how its User-Agent reads, its config
  and phonebook formats, its check-sync/reboot NOTIFY events), listed in the one table
  `vendors.VENDORS`; the templates are in `templates/`.
- `models`: the device, provisioning settings, phonebook contact and firmware tables (schema V14).
- `service`: devices (add, assign, reset credentials, trusted ranges, delete), the auto-add window,
  phonebook contacts; validation errors name the field.
- `server`: answers one provisioning request (`handle`), web-framework free: vendor and device from the
  file name and User-Agent, digest auth / trusted ranges / secret link / first contact, bans.
- `digest`: HTTP digest authentication (RFC 7616, MD5) against a stored HA1.
- `actions`: re-provision and reboot NOTIFYs sent through Kamailio to the registered contact.

The provisioning URL (DHCP option 66) is `http://<appliance>/prov/` (`PREFIX`).
"""

PREFIX = "/prov/"
