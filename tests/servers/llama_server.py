"""`python -m llama_cpp.server`, loading its model the way LocalModel does (AMX-safe buffers).

Run with the same arguments as llama_cpp.server; used by the LiteLLM loopback tests.
"""

import llama_cpp
from llama_cpp.server.__main__ import main

from mcpagents.models.local import amx_safe_loading

if __name__ == "__main__":
    with amx_safe_loading(llama_cpp):
        main()
