"""Renders with known labels (music21 scores, MMA grooves): NOT IMPLEMENTED YET.

render_all returns no sources, so the corpus currently holds package recordings only. See README.md.
"""


def render_all(cdir):
    print("[renders] music21/MMA renders not implemented yet: none added", flush=True)
    return []
