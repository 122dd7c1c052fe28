"""Model strings, as specs and the command line take them, and the default model."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from mcpagents.models.base import Model

MODEL_VARIABLE = "MCPAGENTS_MODEL"

DEFAULT_MODELS = (
    ("ANTHROPIC_API_KEY", "anthropic/claude-sonnet-4-5"),
    ("OPENAI_API_KEY", "openai/gpt-5-mini"),
    ("GEMINI_API_KEY", "gemini/gemini-2.5-flash"),
    ("MISTRAL_API_KEY", "mistral/mistral-small-latest"),
)
"""The model used when none is named: the first whose provider key is set; `local` without any."""


def default_model_id(environ: Mapping[str, str] | None = None) -> str:
    """`$MCPAGENTS_MODEL` if set, else a sensible model for the first provider key found, else `local`."""
    environ = os.environ if environ is None else environ
    if chosen := environ.get(MODEL_VARIABLE):
        return chosen
    return next((model for key, model in DEFAULT_MODELS if environ.get(key)), "local")


def resolve_model(model: str | Model | None = None, **options: Any) -> Model:
    """A `Model` from a model string.

    * `"local"` (or `"local:PATH"` for another GGUF file): the embedded offline model;
    * `"scripted:PATH"`: a script or recording replayed by `ScriptedModel`;
    * anything else is a litellm model id (`"openai/gpt-5-mini"`, `"anthropic/claude-sonnet-4-5"`,
      `"ollama/llama3"`, ...); `api_base=` points it at any OpenAI-compatible endpoint.

    `None` means `default_model_id()`. `options` go to the model's constructor.
    """
    if isinstance(model, Model):
        return model
    spec = model or default_model_id()
    if spec == "local" or spec.startswith("local:"):
        from mcpagents.models.local import LocalModel

        return LocalModel(spec.removeprefix("local").removeprefix(":") or None, **options)
    if spec.startswith("scripted:"):
        from mcpagents.models.scripted import ScriptedModel

        return ScriptedModel.from_file(spec.removeprefix("scripted:"))
    from mcpagents.models.litellm_model import LiteLLMModel

    return LiteLLMModel(spec, **options)
