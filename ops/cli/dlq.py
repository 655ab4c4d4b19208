"""`topllantas dlq list|show|replay TOPIC`: inspect dead letters and replay them after a fix."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

from ops.dlq_tools import DlqRecord, find_dead_letter, read_dead_letters, replay
from schemas.settings import Settings

app = typer.Typer(help="Dead-letter topics: list, show, replay (TOPIC or TOPIC.dlq).",
                  no_args_is_help=True)
console = Console()


@app.command("list")
def list_(topic: str, limit: int = typer.Option(100, help="At most this many records.")) -> None:
    """List the dead letters of TOPIC: where they came from and why."""
    records = read_dead_letters(Settings(), topic, limit=limit)
    if not records:
        console.print(f"no dead letters in {topic}")
        return
    table = Table("partition", "offset", "at (UTC)", "stage", "source", "error")
    for r in records:
        table.add_row(str(r.partition), str(r.offset), _when(r.letter.at_ms), r.letter.stage,
                      f"{r.letter.source_topic}[{r.letter.source_partition}]@"
                      f"{r.letter.source_offset}", r.letter.error[:120])
    console.print(table)


@app.command()
def show(topic: str, partition: int, offset: int) -> None:
    """Show one dead letter in full: error, key, value and headers."""
    record = find_dead_letter(Settings(), topic, partition, offset)
    if record is None:
        console.print(f"[red]no dead letter at {topic} partition {partition} offset {offset}")
        raise typer.Exit(1)
    _print(record)


@app.command("replay")
def replay_(topic: str,
            partition: int | None = typer.Option(None, help="Replay one record: its partition."),
            offset: int | None = typer.Option(None, help="Replay one record: its offset.")
            ) -> None:
    """Re-produce dead letters to their source topic (all not yet replayed, or one)."""
    settings = Settings()
    if (partition is None) != (offset is None):
        console.print("[red]give both --partition and --offset, or neither")
        raise typer.Exit(2)
    if partition is not None and offset is not None:
        record = find_dead_letter(settings, topic, partition, offset)
        records = [record] if record else []
        count = replay(settings, records)
    else:
        records = read_dead_letters(settings, topic, from_replayed=True)
        count = replay(settings, records, remember=True)
    targets = sorted({r.target_topic for r in records})
    console.print(f"replayed {count} record(s)" + (f" to {', '.join(targets)}" if targets else ""))


def _when(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _print(record: DlqRecord) -> None:
    letter = record.letter
    console.print(f"[bold]{record.topic}[/bold] partition {record.partition} offset "
                  f"{record.offset}")
    console.print(f"error:  {letter.error}")
    console.print(f"stage:  {letter.stage}   at: {_when(letter.at_ms)}")
    console.print(f"source: {letter.source_topic} partition {letter.source_partition} offset "
                  f"{letter.source_offset}")
    console.print(f"key:    {_text(letter.key)}")
    console.print("value:")
    console.print(_text(letter.value, pretty=True))
    for key, value in record.headers:
        console.print(f"header  {key} = {_text(value)}")


def _text(raw: bytes | None, pretty: bool = False) -> str:
    if raw is None:
        return "(none)"
    text = raw.decode(errors="replace")
    if pretty:
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            return text
    return text
