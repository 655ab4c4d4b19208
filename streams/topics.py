"""Faust topic objects for the catalogue's topics: raw bytes in and out, we decode ourselves."""

from __future__ import annotations

import faust

from streams.app import app, catalogue


def raw_topic(name: str) -> faust.TopicT:
    spec = catalogue[name]
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw", partitions=spec.partitions, internal=False)


def raw_source(*names: str) -> faust.TopicT:
    """An agent's source: one or more catalogue topics read as raw bytes (agents decode
    themselves, so a bad record can be dead-lettered as it came)."""
    return app.topic(*names, key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw")


def cdc_topic(table: str) -> faust.TopicT:
    return raw_topic(catalogue.cdc_topic(table).name)
