"""The Gradio apps: will a passenger survive, the latest passengers, and model monitoring.

``data`` reads the warehouse (no Gradio import: plain functions a test or notebook can call),
``render`` turns its answers into HTML, Markdown and charts, and ``ui`` wires both into one
Gradio app (``titanic app`` / ``make app``).
"""
