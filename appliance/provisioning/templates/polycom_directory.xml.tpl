<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<directory>
  <item_list>
% for i, e in enumerate(entries, 1):
    <item>
      <ln>{{e.last_name or e.name}}</ln>
      <fn>{{e.first_name}}</fn>
      <ct>{{e.number}}</ct>
      <sd>{{i}}</sd>
    </item>
% end
  </item_list>
</directory>
