"""The floor for bench/capture.py: the cheapest Django endpoint that captures a row correctly."""
