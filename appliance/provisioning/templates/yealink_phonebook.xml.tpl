<?xml version="1.0" encoding="UTF-8"?>
<YealinkIPPhoneDirectory>
% for e in entries:
  <DirectoryEntry>
    <Name>{{e.name}}</Name>
    <Telephone>{{e.number}}</Telephone>
%   if e.mobile:
    <Telephone>{{e.mobile}}</Telephone>
%   end
  </DirectoryEntry>
% end
</YealinkIPPhoneDirectory>
