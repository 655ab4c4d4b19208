"""Shared Kafka transport beneath sources/ and sinks/: client builders (`clients`) and the
dead-letter record format (`dlq`). Imports only schemas/."""
