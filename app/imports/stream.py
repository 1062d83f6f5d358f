"""Reading a CSV upload off the event loop, line by line, as it arrives.

A file of hundreds of thousands of rows takes seconds of CPU to parse and validate; run on
the event loop it stalls every other request (`/healthz` included) for that long. Here the
parser runs in a worker thread over the chunks of the body as they are received; a file
over its row cap is refused as soon as the row past the cap is read, and the loop stays
free.
"""

from __future__ import annotations

import hashlib
import queue
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from app.errors import PayloadTooLarge
from app.schemas import errors

T = TypeVar("T")
_BOM = b"\xef\xbb\xbf"
_LINE_END = re.compile(rb"\r\n|\r|\n")


class TooManyRows(PayloadTooLarge):
    code = "too-many-rows"
    title = "Too many rows"

    def __init__(self, max_rows: int) -> None:
        super().__init__(
            f"The file has more than {max_rows:,} data rows; at most {max_rows:,} are "
            "accepted per import. Split it into several files; nothing was imported.",
            max_rows=max_rows,
        )


def too_many_rows(setting: str, default: int) -> dict[int | str, dict[str, Any]]:
    """The 413 an import route declares: the body cap and the row cap."""
    out = errors(413)
    out[413]["description"] = (
        "Nothing was imported: the body is over 20 MiB (`payload-too-large`), or the file "
        f"has more data rows than `{setting}` allows (default {default:,}; `too-many-rows`, "
        "the cap in `max_rows`)."
    )
    return out


class NotUtf8(Exception):
    """Raised by `Lines` at the first line that is not UTF-8 (1-based physical line)."""

    def __init__(self, line: int) -> None:
        super().__init__(f"line {line} is not UTF-8")
        self.line = line


class Lines:
    """The lines of a byte stream, decoded as UTF-8 (a leading BOM dropped), each with its
    line ending, split where `io.StringIO(newline="")` splits (CR, LF or CRLF) so that
    `csv.reader` and its `line_num` see what they would see on the whole text.

    Splitting bytes before decoding is safe: no UTF-8 sequence contains CR or LF bytes.
    `sha256` covers every byte read so far.
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending: list[bytes] = []  # complete lines, last first
        # The line still open at the end of the last chunk, in pieces (a 20 MiB line
        # is not copied again at every chunk).
        self._open: list[bytes] = []
        self._first = True
        self._done = False
        self.line = 0
        self.sha256 = hashlib.sha256()

    def __iter__(self) -> Iterator[str]:
        return self

    def _fill(self) -> None:
        while not self._pending and not self._done:
            chunk = next(self._chunks, None)
            if chunk is None:
                self._done = True
                if self._open:
                    self._pending.append(b"".join(self._open))
                return
            if not chunk:
                continue
            self.sha256.update(chunk)
            if self._first:
                data = b"".join(self._open) + chunk
                if len(data) < len(_BOM) and _BOM.startswith(data):
                    self._open = [data]
                    continue
                self._first = False
                self._open = []
                chunk = data.removeprefix(_BOM)
            if self._open and self._open[-1].endswith(b"\r"):
                # The CR that ended the last chunk: a line end, with this LF if one follows.
                if chunk.startswith(b"\n"):
                    self._open.append(b"\n")
                    chunk = chunk[1:]
                self._pending.append(b"".join(self._open))
                self._open = []
            start = 0
            for match in _LINE_END.finditer(chunk):
                # A CR at the very end may be the first half of a CRLF still to come.
                if match.group() == b"\r" and match.end() == len(chunk):
                    break
                self._open.append(chunk[start : match.end()])
                self._pending.append(b"".join(self._open))
                self._open = []
                start = match.end()
            if start < len(chunk):
                self._open.append(chunk[start:])
            self._pending.reverse()

    def __next__(self) -> str:
        if not self._pending:
            self._fill()
            if not self._pending:
                raise StopIteration
        raw = self._pending.pop()
        self.line += 1
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise NotUtf8(self.line) from None


async def parse_upload(body: AsyncIterator[bytes], parse: Callable[[Lines], T]) -> tuple[T, Lines]:
    """Run `parse` over the body's lines in a worker thread while the body is received;
    the parse result and the lines (for the body's digest).

    The body is received at the client's pace, not the parser's (the body deadline
    measures the client), into memory the body-size cap bounds. Once the parser stops
    (a file refused early) the rest is received and dropped, so the client reads the
    answer rather than a reset connection. A failure receiving the body (too large, too
    slow, the client gone) wins over whatever the parser made of the part it saw.
    """
    chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    failed: list[Exception] = []
    parsing = True

    async def receive() -> None:
        try:
            async for chunk in body:
                if chunk and parsing:
                    chunks.put(chunk)
        except Exception as exc:  # re-raised below, once the parser is done
            failed.append(exc)
        finally:
            chunks.put(None)

    def pulled() -> Iterator[bytes]:
        while (chunk := chunks.get()) is not None:
            yield chunk

    lines = Lines(pulled())
    refused: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(receive)
        try:
            result = await anyio.to_thread.run_sync(parse, lines)
        except Exception as exc:  # kept until the body is in, raised after
            refused = exc
        parsing = False
    if failed:
        raise failed[0]
    if refused is not None:
        raise refused
    return result, lines
