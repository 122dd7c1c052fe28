"""Running model-written Python: a confined worker process, tools proxied back to the host."""
