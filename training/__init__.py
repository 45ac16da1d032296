"""Training and evaluation data for the learned parts of answering (see README.md here)."""
