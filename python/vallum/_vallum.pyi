"""Type stubs for the ``vallum._vallum`` extension module (the Rust core, built with PyO3).

Import everything from :mod:`vallum`; this module is where it is implemented.
"""

import asyncio
import os
from collections.abc import Iterable
from typing import Any, Final, Literal, final

__all__ = [
    "Finding",
    "Guard",
    "InputError",
    "ModelError",
    "OutputStream",
    "PolicyError",
    "Report",
    "VallumError",
    "Vault",
    "__version__",
    "canary",
]

__version__: Final[str]

_Verdict = Literal["allow", "flag", "block"]
"""The decision for a whole text: the strongest action among its findings."""

_Category = Literal[
    "prompt_injection",
    "pii",
    "secret",
    "exfiltration",
    "invisible_text",
    "canary",
    "prompt_leak",
    "custom",
]
"""The fixed vocabulary of finding categories."""

_Action = Literal["allow", "flag", "redact", "block"]
"""What a policy does with a finding."""

_Direction = Literal["input", "output"]
"""Which side of the model a text is on."""

class VallumError(Exception):
    """Base class of every error Vallum raises."""

class PolicyError(VallumError):
    """The policy is unusable: bad TOML/JSON, an unknown key, a value out of range, a custom
    rule that does not compile, or a policy file that cannot be read."""

class InputError(VallumError):
    """The guard refuses this input: over the policy's size limit, text that cannot be
    encoded as UTF-8 (lone surrogates), or a stream used after ``finish()``."""

class ModelError(VallumError):
    """The injection classifier could not be loaded or failed on this input."""

@final
class Finding:
    """One thing a detector found: where it is in the scanned text and what it means.

    ``start`` and ``end`` are code-point offsets, so ``text[f.start:f.end]`` is the matched
    text. A finding never holds the matched text itself, so printing it never reveals a
    secret. Findings are immutable, compare equal by value and pickle.
    """

    @property
    def category(self) -> _Category:
        """The category: ``prompt_injection``, ``pii``, ``secret``, ``exfiltration``,
        ``invisible_text``, ``canary``, ``prompt_leak`` or ``custom``."""
    @property
    def kind(self) -> str:
        """The finer kind inside the category, e.g. ``email``, ``aws_access_key_id``."""
    @property
    def rule(self) -> str:
        """The id of the rule or detector that reported it."""
    @property
    def start(self) -> int:
        """Code-point offset of the first character."""
    @property
    def end(self) -> int:
        """Code-point offset one past the last character."""
    @property
    def score(self) -> float:
        """How sure, in ``[0, 1]``."""
    @property
    def action(self) -> _Action:
        """What the policy does with it: ``allow``, ``flag``, ``redact`` or ``block``."""
    @property
    def detail(self) -> str | None:
        """Extra information that is safe to show (e.g. the text decoded from hidden tag
        characters), or None. Never set for secrets or personal data."""
    def to_dict(self) -> dict[str, Any]:
        """The finding as a plain dict (JSON-ready)."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class Report:
    """The result of one scan: the verdict, the highest score and the findings.

    Reports are immutable, compare equal by value and pickle (so they can come back from
    worker processes).
    """

    @property
    def verdict(self) -> _Verdict:
        """The decision: ``allow``, ``flag`` or ``block`` (the strongest action among the
        findings; ``redact`` shows as ``flag``)."""
    @property
    def score(self) -> float:
        """The highest finding score, 0.0 when there are none."""
    @property
    def findings(self) -> list[Finding]:
        """What was found, sorted by position (a new list on each access)."""
    @property
    def blocked(self) -> bool:
        """Whether the verdict is ``block``."""
    def to_dict(self) -> dict[str, Any]:
        """The report as a plain dict (JSON-ready)."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class Vault:
    """The original values behind the placeholders of one :meth:`Guard.anonymize` call.

    :meth:`restore` puts them back into the model's answer. Its ``repr`` shows the
    placeholders, never the values, and it cannot be pickled (it holds personal data and
    secrets).
    """

    def restore(self, text: str) -> str:
        """Puts the original values back where ``text`` has their placeholders.

        Lightly altered placeholders count too (any case, other or no brackets,
        ``EMAIL 1``); placeholders this vault did not issue are left as they are.
        Raises :class:`InputError` for text that cannot be encoded as UTF-8.
        """
    @property
    def placeholders(self) -> list[str]:
        """The placeholders it knows, as they appear in masked text (e.g. ``<EMAIL_1>``)."""
    def __len__(self) -> int:
        """How many distinct values it holds."""
    def __copy__(self) -> Vault:
        """A vault is immutable: copies are the vault itself."""
    def __deepcopy__(self, memo: Any, /) -> Vault:
        """A vault is immutable: copies are the vault itself."""

@final
class OutputStream:
    """Scans a model's answer as it streams in (made by :meth:`Guard.output_stream`).

    ``push(chunk)`` returns the text that is now safe to show, already redacted as the
    policy says (it may be ``""``: text is held back while a finding may still be forming);
    ``finish()`` returns the rest. Once a blocking finding is seen, ``blocked`` is True and
    nothing more is released. The text shown is what :meth:`Guard.redact` would return for
    the whole answer, up to the first blocking finding, however the answer is chunked.

    Safe to share between threads (calls are serialised); every call releases the GIL.
    """

    def push(self, chunk: str) -> str:
        """Adds the next chunk; returns the text that is now safe to show (may be ``""``).

        Raises :class:`InputError` after :meth:`finish`, when the streamed text grows over
        the policy's size limit, or for a chunk holding lone surrogates."""
    def finish(self) -> str:
        """Ends the stream: scans what is left and returns the rest of the safe text. The
        stream cannot be used after it (:class:`InputError`)."""
    @property
    def report(self) -> Report:
        """The findings so far (all of them after :meth:`finish`: the same as
        :meth:`Guard.scan_output` of the whole text), with code-point offsets into the whole
        streamed text."""
    @property
    def blocked(self) -> bool:
        """Whether a blocking finding was seen: :meth:`push` and :meth:`finish` then return
        ``""``."""

@final
class Guard:
    """Scans text going into and coming out of a model, as a policy says.

    ``Guard()`` uses the built-in default policy; ``Guard(policy)`` takes a TOML string, a
    path to a ``.toml`` or ``.json`` file (a ``str`` of one line ending in ``.toml`` or
    ``.json``, or an ``os.PathLike``), or a dict (the JSON form of the policy). A bad
    policy raises :class:`PolicyError`.

    A guard is immutable and thread-safe: build it once and share it between threads.
    Every scan releases the GIL. Guards pickle (they rebuild from their policy), so they
    can be sent to multiprocessing, Ray or Spark workers.

    Scans raise :class:`InputError` for text over the policy's ``limits.max_input_bytes``
    or text holding lone surrogates.
    """

    def __new__(cls, policy: str | os.PathLike[str] | dict[str, Any] | None = None) -> Guard: ...
    def scan_input(self, text: str) -> Report:
        """Scans text going into the model (a user prompt, a document, a tool result)."""
    def scan_output(self, text: str, prompt: str | None = None) -> Report:
        """Scans a model's answer; ``prompt`` is the prompt or context it answers (for
        canaries, system-prompt leaks and the hosts the user mentioned)."""
    def scan_batch(self, texts: Iterable[str], direction: _Direction = "input") -> list[Report]:
        """Scans many texts in one call, releasing the GIL once and using every core.

        ``texts`` is any iterable of ``str`` (not a single ``str``). Raises
        :class:`ValueError` for an unknown ``direction``.
        """
    def scan_arrow(self, array: Any, direction: _Direction = "input") -> Any:
        """Scans a ``pyarrow`` array of strings (``string``, ``large_string`` or
        ``string_view``, sliced or not) where it lies in memory, with the GIL released and
        the rows spread over every core.

        Returns a ``pyarrow.StructArray`` with one row per input row (null where the input
        is null): ``verdict``, ``score`` and ``findings``, a list of structs of
        ``category``, ``kind``, ``rule``, ``start``, ``end`` (code-point offsets),
        ``score`` and ``action``: the same results as :meth:`scan_batch`. A
        ``pyarrow.ChunkedArray`` gives a ``ChunkedArray``, chunk by chunk. For Spark's
        ``mapInArrow`` (see :mod:`vallum.spark`) and other Arrow pipelines.

        Raises :class:`TypeError` for anything but an array of strings, and
        :class:`InputError` for a text over the size limit.
        """
    def scan_input_async(self, text: str) -> asyncio.Future[Report]:
        """:meth:`scan_input` on a worker thread, for ``await``: the event loop never waits on
        the scan. Must be called with an event loop running (``RuntimeError`` otherwise)."""
    def scan_output_async(self, text: str, prompt: str | None = None) -> asyncio.Future[Report]:
        """:meth:`scan_output` on a worker thread, for ``await``: the event loop never waits
        on the scan. Must be called with an event loop running (``RuntimeError`` otherwise)."""
    def redact(self, text: str, direction: _Direction = "input") -> str:
        """The text with personal data, secrets and every finding the policy marks
        ``redact`` replaced (by ``<EMAIL>``-style placeholders unless the policy's
        ``[redaction]`` says otherwise). Returns the same ``str`` object when nothing
        changes."""
    def anonymize(self, text: str) -> tuple[str, Vault]:
        """Replaces personal data and secrets with stable numbered placeholders
        (``<EMAIL_1>``; the same value always gets the same placeholder). Returns the
        masked text and the :class:`Vault` that puts the values back into the model's
        answer."""
    def output_stream(self, prompt: str | None = None) -> OutputStream:
        """A stream that scans a model's answer as it arrives, releasing text once it is
        safe; ``prompt`` is the prompt or context the answer responds to."""
    @property
    def policy_toml(self) -> str:
        """The policy this guard was built from, as TOML (every key spelled out)."""
    def __reduce__(self) -> tuple[type[Guard], tuple[str]]:
        """Pickles as the policy: unpickling rebuilds the guard."""
    def __copy__(self) -> Guard:
        """A guard is immutable: copies are the guard itself."""
    def __deepcopy__(self, memo: Any, /) -> Guard:
        """A guard is immutable: copies are the guard itself."""

def canary() -> str:
    """A fresh random canary token (``vlm-canary-`` and 20 random characters) to plant in a
    system prompt: ``scan_output(text, prompt)`` reports a finding of category ``canary``
    when a token from the prompt shows up in the output."""

_debug_build: Final[bool]
"""Whether the extension was compiled without optimisations (benchmarks warn about it)."""

def _core_scan_seconds(
    guard: Guard, text: str, iterations: int, direction: _Direction = "input"
) -> float:
    """For benchmarks: seconds that ``iterations`` scans of ``text`` take inside the Rust core
    alone (no argument conversion, no GIL handling, no result objects)."""
