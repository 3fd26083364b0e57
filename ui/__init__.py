"""The Streamlit side of the dashboard: server lifecycle, process-wide resources, page registry,
access, and the few helpers that lay presentation models out as Streamlit elements.

`ipscape/` never imports Streamlit; what a screen shows is decided in ipscape/presentation/.
"""
