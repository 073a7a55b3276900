"""HTTP answers shared by every app's views."""

from __future__ import annotations

# A form that was refused answers 422 (Unprocessable Content) with the form and its errors: htmx is configured in
# base.html to swap 422 in place, and django-htmx's debug handler (DEBUG) leaves 422 alone — it replaces the whole
# page with any 400 response, which would lose the page, its styling and the user's choices.
FORM_REFUSED = 422
