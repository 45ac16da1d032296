"""Entry point for `python app.py`: the web chat, with settings from the ASSISTANT_* environment variables.

The model and the index are loaded once, here, and shared by every session.
"""

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.web import build_app, launch

settings = Settings.load()
assistant = Assistant(settings)
demo = build_app(assistant, settings)

if __name__ == "__main__":
    launch(demo, settings)
