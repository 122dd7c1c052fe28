"""smolagents' `prompt_templates`, as far as they carry over: a program that overrides the system
prompt or the planning prompts keeps doing so. Templates are filled in like Jinja's `{{ name }}`;
Jinja statements (`{% for %}`) are refused, because the tools reach the template already written out
(`{{ tools }}`), not as smolagents' objects."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict

from mcpagents.errors import ConfigError

_VARIABLE = re.compile(r"{{-?\s*(\w+)\s*-?}}")


class PlanningPromptTemplate(TypedDict, total=False):
    """smolagents' planning prompts: `initial_plan` before step 1, `update_plan_post_messages`
    before each later plan (`update_plan_pre_messages` is not supported)."""

    initial_plan: str
    update_plan_pre_messages: str
    update_plan_post_messages: str


class PromptTemplates(TypedDict, total=False):
    """smolagents' `PromptTemplates`: `system_prompt` and `planning` are used; `managed_agent` and
    `final_answer` are refused unless empty (a managed agent here is an MCP tool, and the final
    answer prompt is the one that also enforces `output_schema`)."""

    system_prompt: str
    planning: PlanningPromptTemplate
    managed_agent: Mapping[str, str]
    final_answer: Mapping[str, str]


@dataclass(frozen=True)
class PromptOverrides:
    """The templates of `PromptTemplates` that replace mcpagents' own prompts (None: keep ours)."""

    system_prompt: str | None = None
    initial_plan: str | None = None
    update_plan: str | None = None

    @classmethod
    def of(cls, templates: PromptTemplates | None) -> PromptOverrides:
        """Check `templates` and keep what is overridden; an unsupported template is a ConfigError
        saying what to do instead, never silently ignored."""
        if not templates:
            return cls()
        known = {"system_prompt", "planning", "managed_agent", "final_answer"}
        if unknown := sorted(templates.keys() - known):
            raise ConfigError(f"prompt_templates: unknown key {unknown[0]!r}; the keys are {sorted(known)}")
        for key in ("managed_agent", "final_answer"):
            if any(templates.get(key, {}).values()):  # type: ignore[attr-defined]
                raise ConfigError(
                    f"prompt_templates[{key!r}] is not supported: a managed agent is an MCP tool whose"
                    " description comes from its `description`, and the final answer prompt enforces"
                    " `output_schema`; put extra guidance in `instructions=` instead"
                )
        planning = templates.get("planning", {})
        if planning.get("update_plan_pre_messages"):
            raise ConfigError(
                "prompt_templates['planning']['update_plan_pre_messages'] is not supported: the plan is"
                " updated after the conversation so far; put the whole prompt in"
                " 'update_plan_post_messages'"
            )
        overrides = cls(
            system_prompt=templates.get("system_prompt") or None,
            initial_plan=planning.get("initial_plan") or None,
            update_plan=planning.get("update_plan_post_messages") or None,
        )
        for template in (overrides.system_prompt, overrides.initial_plan, overrides.update_plan):
            _refuse_statements(template or "")
        return overrides


def populate_template(template: str, variables: Mapping[str, object]) -> str:
    """`template` with each `{{ name }}` replaced by `variables[name]` (smolagents' function of the
    same name renders Jinja; an unknown name is an error in both)."""
    _refuse_statements(template)

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise ConfigError(
                f"prompt_templates: unknown variable {{{{ {name} }}}}; the variables are:"
                f" {', '.join(sorted(variables))}"
            )
        return str(variables[name])

    return _VARIABLE.sub(value, template)


def _refuse_statements(template: str) -> None:
    if "{%" in template:
        raise ConfigError(
            "prompt_templates: Jinja statements ({% ... %}) are not supported; use {{ tools }}, which"
            " holds the tools already written out (with {{ authorized_imports }},"
            " {{ custom_instructions }}, and in planning prompts {{ task }} and {{ remaining_steps }})"
        )
