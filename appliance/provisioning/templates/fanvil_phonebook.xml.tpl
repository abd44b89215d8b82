<?xml version="1.0" encoding="UTF-8"?>
<FanvilIPPhoneDirectory clearlight="true">
  <Title>{{title}}</Title>
% for e in entries:
  <DirectoryEntry>
    <Name>{{e.name}}</Name>
    <Telephone>{{e.number}}</Telephone>
%   if e.mobile:
    <Mobile>{{e.mobile}}</Mobile>
%   end
  </DirectoryEntry>
% end
</FanvilIPPhoneDirectory>
