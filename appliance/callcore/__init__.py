"""The call core: a pool of pjsua2 worker processes (B2BUA, media), driven through `Channel`.

channel.py  the interface the dialplan uses (no pjsua2)
legs.py     its pjsua2 implementation      runtime.py  the Endpoint and its thread
prompts.py  system announcements (the dialplan engine is appliance/dialplan)
records.py  CDR rows                       worker.py / pool.py  the processes
"""
