"""The web face: the chat page, the document library panel, the request gate and the server."""
