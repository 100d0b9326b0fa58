"""Tie the stages together: plan a narration, render its chunks, assemble the file."""
