"""What a litellm model id needs before its first call: a provider litellm knows, and that provider's key.

Checked when an agent is built, so that `opneai/gpt-5` or a missing `OPENAI_API_KEY` shows before any
server starts. The providers people name most are in `PROVIDER_KEYS`, so that checking them costs no
import of litellm (seconds); only another prefix asks litellm's own list and `validate_environment`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from mcpagents.errors import ConfigError, ModelKeyMissing

PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "mistral": ("MISTRAL_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "xai": ("XAI_API_KEY",),
    "cohere": ("COHERE_API_KEY",),
    "together_ai": ("TOGETHERAI_API_KEY",),
    "ollama": (),
    "ollama_chat": (),
    "hosted_vllm": (),
    "lm_studio": (),
}
"""Providers by litellm prefix, with the variables litellm reads their key from (any one will do);
none for servers that run on your machine."""


def check_provider(model_id: str, environ: Mapping[str, str], *, has_key: bool) -> None:
    """Raise `ConfigError` for an unknown provider prefix, `ModelKeyMissing` for a key not set.

    `has_key`: the model was given a key or an endpoint of its own (`api_key`, `api_base`), which
    stands for the provider's variable. An id without a prefix (`gpt-4o`) is left to litellm.
    """
    provider, slash, _ = model_id.partition("/")
    if not slash:
        return
    if provider in PROVIDER_KEYS:
        variables = PROVIDER_KEYS[provider]
    else:
        variables = _litellm_variables(model_id, provider)
    if has_key or not variables or any(environ.get(variable) for variable in variables):
        return
    raise ModelKeyMissing(
        f"model {model_id}: no API key: set ${variables[0]} (or give the model an api_key)",
        variable=variables[0],
    )


def _litellm_variables(model_id: str, provider: str) -> tuple[str, ...]:
    from mcpagents.models.litellm_model import load_litellm

    litellm = load_litellm()
    known = [str(getattr(entry, "value", entry)) for entry in litellm.provider_list]
    if provider not in known:
        close = difflib.get_close_matches(provider, [*PROVIDER_KEYS, *known], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"model {model_id}: unknown provider {provider!r}{hint}; a model id is PROVIDER/MODEL,"
            f" e.g. openai/gpt-5-mini, anthropic/claude-sonnet-4-5, ollama/llama3"
        )
    missing = litellm.validate_environment(model_id).get("missing_keys") or []
    return tuple(str(variable) for variable in missing)
