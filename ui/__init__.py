"""Streamlit-side helpers of the dashboard: process-wide resources, page frame, tiles, views.

`ipscape/` never imports streamlit; this package is where the two meet. `ui.views` is plain
pandas (tests import it without a running app); the other modules render.
"""
