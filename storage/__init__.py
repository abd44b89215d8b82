"""USB storage: devices (pyudev), initialization (ext4), mounts by label, where each kind of data lives,
moving data between places, surviving a stick pulled out, SMB/NFS backup shares; and the system health page.

Modules: devices (what counts as removable storage: injectable policy), mounts (one home for
<media>/<label>), initialize (partition + format with progress), placement (kinds of data -> folder,
moves), watcher (the daemon in the web process: appear/disappear, missing/back), shares (SMB/NFS),
health (psutil, services, ports), jobs (long operations followed by the UI).
"""
