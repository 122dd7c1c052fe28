"""mcpagents: agents whose every tool arrives through an MCP client, and which serve as MCP servers.

Names are imported on first use, so `import mcpagents` stays cheap; the MCP SDK loads only when a
name that needs it is touched.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "StdioServer": "mcpagents.connections.specs",
    "HttpServer": "mcpagents.connections.specs",
    "InProcessServer": "mcpagents.connections.specs",
    "TransportServer": "mcpagents.connections.specs",
    "ServerSpec": "mcpagents.connections.specs",
    "load_server_config": "mcpagents.connections.host_config",
    "OAuth": "mcpagents.sign_in.options",
    "ToolCollection": "mcpagents.tools.collection",
    "Tool": "mcpagents.tools.tool",
    "Progress": "mcpagents.tools.tool",
    "tool": "mcpagents.tools.local",
    "local_server": "mcpagents.tools.local",
    "PythonTool": "mcpagents.tools.python_tool",
    "Image": "mcpagents.tools.image",
    "Audio": "mcpagents.tools.content",
    "Resource": "mcpagents.tools.content",
    "ResourceLink": "mcpagents.tools.content",
    "CodeAgent": "mcpagents.agents.code_agent",
    "ToolCallingAgent": "mcpagents.agents.tool_calling_agent",
    "MultiStepAgent": "mcpagents.agents.base",
    "PromptTemplates": "mcpagents.agents.prompt_templates",
    "Budget": "mcpagents.agents.budgets",
    "Tracing": "mcpagents.tracing.settings",
    "RunResult": "mcpagents.agents.results",
    "AgentMemory": "mcpagents.agents.memory",
    "ActionStep": "mcpagents.agents.memory",
    "ToolCallRecord": "mcpagents.agents.memory",
    "PlanningStep": "mcpagents.agents.memory",
    "FinalAnswerStep": "mcpagents.agents.memory",
    "AgentEvent": "mcpagents.agents.results",
    "ModelDelta": "mcpagents.agents.results",
    "CodeAction": "mcpagents.agents.results",
    "ToolCallStarted": "mcpagents.agents.results",
    "ToolCallFinished": "mcpagents.agents.results",
    "ToolProgress": "mcpagents.agents.results",
    "AgentError": "mcpagents.errors",
    "Model": "mcpagents.models.base",
    "LiteLLMModel": "mcpagents.models.litellm_model",
    "LocalModel": "mcpagents.models.local",
    "ScriptedModel": "mcpagents.models.scripted",
    "RecordingModel": "mcpagents.models.scripted",
    "resolve_model": "mcpagents.models.resolve",
    "ChatMessage": "mcpagents.models.messages",
    "ToolCall": "mcpagents.models.messages",
    "ToolDefinition": "mcpagents.models.messages",
    "ModelRequest": "mcpagents.models.messages",
    "ModelResponse": "mcpagents.models.messages",
    "TokenUsage": "mcpagents.models.messages",
    "JsonSchemaFormat": "mcpagents.models.messages",
    "CodeFormat": "mcpagents.models.messages",
    "MCPAgentsError": "mcpagents.errors",
    "ModelError": "mcpagents.errors",
    "ConfigError": "mcpagents.errors",
    "MCPServerError": "mcpagents.errors",
    "SignInRequired": "mcpagents.errors",
    "ToolError": "mcpagents.errors",
    "ToolArgumentError": "mcpagents.errors",
    "ToolTimeoutError": "mcpagents.errors",
    "ToolNotFoundError": "mcpagents.errors",
    "ToolDefinitionChangedError": "mcpagents.errors",
    "SandboxUnavailableError": "mcpagents.errors",
    "WorkerFailed": "mcpagents.errors",
    "PythonExecutor": "mcpagents.sandbox.executor",
    "ExecutorOptions": "mcpagents.sandbox.interface",
    "CodeExecutor": "mcpagents.sandbox.interface",
    "StepResult": "mcpagents.sandbox.interface",
    "Conversation": "mcpagents.agents.conversation",
    "RunContext": "mcpagents.agents.run_context",
    "register_agent_type": "mcpagents.agents.registry",
    "serve": "mcpagents.serving.serve",
    "aserve": "mcpagents.serving.serve",
    "serve_workers": "mcpagents.serving.workers",
    "http_app": "mcpagents.serving.http_app",
    "ServerSettings": "mcpagents.serving.settings",
    "load_agent": "mcpagents.spec",
    "load_agents": "mcpagents.spec",
    "load_spec": "mcpagents.spec",
    "Interaction": "mcpagents.connections.interaction",
    "ElicitationRequest": "mcpagents.connections.interaction",
    "SamplingRequest": "mcpagents.connections.interaction",
    "LogMessage": "mcpagents.connections.interaction",
    "InteractionRefused": "mcpagents.connections.interaction",
    "accepted": "mcpagents.connections.interaction",
    "declined": "mcpagents.connections.interaction",
    "ask_user": "mcpagents.tools.ask_user",
    "TaskHandle": "mcpagents.connections.tasks",
    "TerminalInput": "mcpagents.agents.terminal_input",
    "SamplingLimits": "mcpagents.agents.run_interaction",
    "SamplingCall": "mcpagents.agents.results",
    "ServerMessage": "mcpagents.agents.results",
    "InputRequested": "mcpagents.agents.results",
}

__all__ = ["__version__", *_EXPORTS]

# `X as X`: names re-exported explicitly, for type checkers in strict mode.
if TYPE_CHECKING:
    from mcpagents.agents.base import (
        MultiStepAgent as MultiStepAgent,
    )
    from mcpagents.agents.budgets import (
        Budget as Budget,
    )
    from mcpagents.agents.code_agent import (
        CodeAgent as CodeAgent,
    )
    from mcpagents.agents.conversation import (
        Conversation as Conversation,
    )
    from mcpagents.agents.memory import (
        ActionStep as ActionStep,
        AgentMemory as AgentMemory,
        FinalAnswerStep as FinalAnswerStep,
        PlanningStep as PlanningStep,
        ToolCallRecord as ToolCallRecord,
    )
    from mcpagents.agents.prompt_templates import (
        PromptTemplates as PromptTemplates,
    )
    from mcpagents.agents.registry import (
        register_agent_type as register_agent_type,
    )
    from mcpagents.agents.results import (
        AgentEvent as AgentEvent,
        CodeAction as CodeAction,
        InputRequested as InputRequested,
        ModelDelta as ModelDelta,
        RunResult as RunResult,
        SamplingCall as SamplingCall,
        ServerMessage as ServerMessage,
        ToolCallFinished as ToolCallFinished,
        ToolCallStarted as ToolCallStarted,
        ToolProgress as ToolProgress,
    )
    from mcpagents.agents.run_context import (
        RunContext as RunContext,
    )
    from mcpagents.agents.run_interaction import (
        SamplingLimits as SamplingLimits,
    )
    from mcpagents.agents.terminal_input import (
        TerminalInput as TerminalInput,
    )
    from mcpagents.agents.tool_calling_agent import (
        ToolCallingAgent as ToolCallingAgent,
    )
    from mcpagents.connections.host_config import (
        load_server_config as load_server_config,
    )
    from mcpagents.connections.interaction import (
        ElicitationRequest as ElicitationRequest,
        Interaction as Interaction,
        InteractionRefused as InteractionRefused,
        LogMessage as LogMessage,
        SamplingRequest as SamplingRequest,
        accepted as accepted,
        declined as declined,
    )
    from mcpagents.connections.specs import (
        HttpServer as HttpServer,
        InProcessServer as InProcessServer,
        ServerSpec as ServerSpec,
        StdioServer as StdioServer,
        TransportServer as TransportServer,
    )
    from mcpagents.connections.tasks import (
        TaskHandle as TaskHandle,
    )
    from mcpagents.errors import (
        AgentError as AgentError,
        ConfigError as ConfigError,
        MCPAgentsError as MCPAgentsError,
        MCPServerError as MCPServerError,
        ModelError as ModelError,
        SandboxUnavailableError as SandboxUnavailableError,
        SignInRequired as SignInRequired,
        ToolArgumentError as ToolArgumentError,
        ToolDefinitionChangedError as ToolDefinitionChangedError,
        ToolError as ToolError,
        ToolNotFoundError as ToolNotFoundError,
        ToolTimeoutError as ToolTimeoutError,
        WorkerFailed as WorkerFailed,
    )
    from mcpagents.models.base import (
        Model as Model,
    )
    from mcpagents.models.litellm_model import (
        LiteLLMModel as LiteLLMModel,
    )
    from mcpagents.models.local import (
        LocalModel as LocalModel,
    )
    from mcpagents.models.messages import (
        ChatMessage as ChatMessage,
        CodeFormat as CodeFormat,
        JsonSchemaFormat as JsonSchemaFormat,
        ModelRequest as ModelRequest,
        ModelResponse as ModelResponse,
        TokenUsage as TokenUsage,
        ToolCall as ToolCall,
        ToolDefinition as ToolDefinition,
    )
    from mcpagents.models.resolve import (
        resolve_model as resolve_model,
    )
    from mcpagents.models.scripted import (
        RecordingModel as RecordingModel,
        ScriptedModel as ScriptedModel,
    )
    from mcpagents.sandbox.executor import (
        PythonExecutor as PythonExecutor,
    )
    from mcpagents.sandbox.interface import (
        CodeExecutor as CodeExecutor,
        ExecutorOptions as ExecutorOptions,
        StepResult as StepResult,
    )
    from mcpagents.serving.http_app import (
        http_app as http_app,
    )
    from mcpagents.serving.serve import (
        aserve as aserve,
        serve as serve,
    )
    from mcpagents.serving.settings import (
        ServerSettings as ServerSettings,
    )
    from mcpagents.serving.workers import (
        serve_workers as serve_workers,
    )
    from mcpagents.sign_in.options import OAuth as OAuth
    from mcpagents.spec import (
        load_agent as load_agent,
        load_agents as load_agents,
        load_spec as load_spec,
    )
    from mcpagents.tools.ask_user import (
        ask_user as ask_user,
    )
    from mcpagents.tools.collection import (
        ToolCollection as ToolCollection,
    )
    from mcpagents.tools.content import (
        Audio as Audio,
        Resource as Resource,
        ResourceLink as ResourceLink,
    )
    from mcpagents.tools.image import (
        Image as Image,
    )
    from mcpagents.tools.local import (
        local_server as local_server,
        tool as tool,
    )
    from mcpagents.tools.python_tool import (
        PythonTool as PythonTool,
    )
    from mcpagents.tools.tool import (
        Progress as Progress,
        Tool as Tool,
    )
    from mcpagents.tracing.settings import (
        Tracing as Tracing,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mcpagents' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
