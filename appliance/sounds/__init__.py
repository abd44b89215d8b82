"""Sounds: prompts and music on hold (upload, TTS, recording), stored under settings.sounds_dir."""
