"""Models: one interface (`Model`), and litellm, embedded and scripted implementations."""
