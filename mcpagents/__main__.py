"""`python -m mcpagents`: the `mcpagents` command, for hosts that launch the interpreter directly."""

import sys

from mcpagents.cli import main

sys.exit(main())
