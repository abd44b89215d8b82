<?xml version="1.0" standalone="yes"?>
<!-- {{ctx.appliance_name}}: master configuration for {{ctx.mac or "every Poly phone"}} ({{ctx.file}}) -->
<APPLICATION APP_FILE_PATH="sip.ld" CONFIG_FILES="[PHONE_MAC_ADDRESS]-phone.cfg, sip.cfg" MISC_FILES="" LOG_FILE_DIRECTORY="" OVERRIDES_DIRECTORY="" CONTACTS_DIRECTORY="" LICENSE_DIRECTORY="" USER_PROFILES_DIRECTORY="" CALL_LISTS_DIRECTORY="" COREFILE_DIRECTORY="">
</APPLICATION>
