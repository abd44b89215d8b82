"""Call recording: who is recorded (per user, per call group, on demand), the files, quota and retention."""
