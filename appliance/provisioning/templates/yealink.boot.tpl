#!version:1.0.0.1
## {{!one_line(ctx.appliance_name)}}: boot file ({{!ctx.file}})
include:config "{{!common}}"
% if ctx.mac:
include:config "{{!ctx.mac}}.cfg"
% end
overwrite_mode = 1
