<?xml version="1.0" encoding="UTF-8"?>
<SnomIPPhoneDirectory>
  <Title>{{title}}</Title>
% for e in entries:
  <DirectoryEntry>
    <Name>{{e.name}}</Name>
    <Telephone>{{e.number}}</Telephone>
  </DirectoryEntry>
% end
</SnomIPPhoneDirectory>
