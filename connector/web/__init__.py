"""The connector's web dashboard: server-rendered pages for every role, on the API's routes.

`mount(app)` adds the pages under `/ui` (and `/` leads there), the page script and style sheet
under `/ui/static`, and one boundary for errors on pages: HTML instead of JSON, the log-in page
when the session is missing or expired, never a traceback. Pages call the API's route functions
and service layer, so every check and every refusal is the API's, in its words.
"""

from connector.web.mount import mount

__all__ = ["mount"]
