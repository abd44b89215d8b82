<?xml version="1.0" encoding="UTF-8"?>
<AddressBook>
% for e in entries:
  <Contact>
    <LastName>{{e.last_name or e.name}}</LastName>
    <FirstName>{{e.first_name}}</FirstName>
%   if e.company:
    <Company>{{e.company}}</Company>
%   end
    <Phone type="Work">
      <phonenumber>{{e.number}}</phonenumber>
      <accountindex>1</accountindex>
    </Phone>
%   if e.mobile:
    <Phone type="Cell">
      <phonenumber>{{e.mobile}}</phonenumber>
      <accountindex>1</accountindex>
    </Phone>
%   end
  </Contact>
% end
</AddressBook>
