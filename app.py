"""Entry point for `python app.py`: the web chat, with settings from the environment
(ASSISTANT_*, and Gradio's GRADIO_SERVER_NAME / GRADIO_SERVER_PORT).

The model and the index are loaded once, here, and shared by every session.
"""

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.web.app import build_app, launch

settings = Settings.load()
demo = build_app(Assistant(settings), settings)

if __name__ == "__main__":
    launch(demo, settings)
