"""Turn engine PCM into finished audio: clips, chunks, containers, timings."""
