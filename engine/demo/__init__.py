"""`accord demo`: the seed agreements, organisations and people (engine/demo/seed.py).

A room of its own (docs/architecture.md, "Rooms"): it makes everything through the engine's
services, as a user would. The CLI (api/cli.py) and the tests use it; nothing else in the engine
imports this package.
"""

from engine.demo.seed import LOADER, DemoReport, load_demo

__all__ = ["LOADER", "DemoReport", "load_demo"]
