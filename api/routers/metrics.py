"""Prometheus metrics in the text exposition format, at `/metrics` (no prefix, no token).

With several worker processes (`uvicorn --workers N`, or several `accord serve` on one host)
each writes its counts under PROMETHEUS_MULTIPROC_DIR and this route adds them all up; without
it, the route shows this process alone. The metrics are described in engine/metrics.py and
api/observability.py, and listed in docs/deploy.md.
"""

from __future__ import annotations

import os

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    # A plain def: reading the multiprocess files is blocking I/O, so it runs on the thread pool.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
