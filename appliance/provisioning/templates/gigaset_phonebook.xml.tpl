<?xml version="1.0" encoding="UTF-8"?>
<list response="get_list" type="pb" total="{{len(entries)}}" first="1" last="{{len(entries)}}">
% for e in entries:
  <entry>
    <ln>{{e.last_name or e.name}}</ln>
    <fn>{{e.first_name}}</fn>
    <hm>{{e.number}}</hm>
%   if e.mobile:
    <mb>{{e.mobile}}</mb>
%   end
  </entry>
% end
</list>
