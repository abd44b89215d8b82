"""Voicemail: boxes (one per user, or shared), messages as WAV files, greetings, MWI, email.

    models.py   Box, Subscription, Message (schema V9)
    storage.py  where the files live (one home for the paths)
    service.py  settings, PIN, greetings, messages, quota, retention (what the web UI and the phone use)
    mwi.py      SIP NOTIFY message-summary to the owner's (and subscribers') registered phones
    email.py    the box's email option through appliance.mail
    phone.py    the phone side: leaving a message, the listening menu (driven by dialplan/apps/voicemail.py)
"""
