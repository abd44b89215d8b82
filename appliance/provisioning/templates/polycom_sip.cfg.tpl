<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!-- {{ctx.appliance_name}}: settings shared by every Poly phone ({{ctx.file}}) -->
<polycomConfig>
  <tcpIpApp tcpIpApp.sntp.address="{{ctx.ntp_server}}" tcpIpApp.sntp.gmtOffset="{{ctx.utc_offset_seconds}}" tcpIpApp.sntp.address.overrideDHCP="1"/>
  <lcl lcl.ml.lang="{{language}}"/>
  <voIpProt voIpProt.SIP.specialEvent.checkSync.alwaysReboot="0" voIpProt.server.1.port="{{ctx.sip_port}}" voIpProt.server.1.transport="{{transport}}"/>
  <voice{{!codec_attrs}}/>
% if ctx.firmware_url:
  <prov prov.firmware.url="{{ctx.firmware_url}}"/>
% end
</polycomConfig>
