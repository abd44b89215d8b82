"""The call core: a pool of pjsua2 worker processes (B2BUA, media), driven through `Channel`.

channel.py  the interface the dialplan uses (no pjsua2)
legs.py     its pjsua2 implementation      runtime.py  the Endpoint and its thread
routing.py  the issue-2 dialplan           prompts.py  system announcements
records.py  CDR rows                       worker.py / pool.py  the processes
"""
