"""Finding the longnet launcher and running one command of it."""

import os
import shutil
import subprocess

__all__ = ["LongNetError", "LongNetUsageError", "EngineNotFoundError", "launcher", "run"]


class LongNetError(Exception):
    """A longnet command failed. ``str(error)`` is the engine's one-line message (``longnet CMD: ...``);
    ``returncode`` is its exit status (1: the work failed, 2: bad usage) and ``stderr`` everything it printed."""

    def __init__(self, message, returncode=1, stderr="", command=None):
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr
        self.command = command


class LongNetUsageError(LongNetError, ValueError):
    """A longnet command refused its arguments (exit status 2): a bad configuration, shape or option."""


class EngineNotFoundError(LongNetError, FileNotFoundError):
    """Neither ``$LONGNET_HOME/longnet`` nor a ``longnet`` launcher on PATH was found."""


def launcher():
    """The launcher to run: ``$LONGNET_HOME/longnet`` when LONGNET_HOME is set (a checkout of longnet-java; the
    launcher builds the engine there on first use), else ``longnet`` on PATH."""
    home = os.environ.get("LONGNET_HOME")
    if home:
        path = os.path.join(home, "longnet")
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
        raise EngineNotFoundError(
            "LONGNET_HOME=%s: no executable 'longnet' launcher there (it should be a checkout of longnet-java)"
            % home, returncode=2)
    found = shutil.which("longnet")
    if found:
        return found
    raise EngineNotFoundError(
        "the longnet engine was not found: set LONGNET_HOME to a checkout of longnet-java, "
        "or put its 'longnet' launcher on PATH", returncode=2)


def _message(stderr, returncode):
    """The engine's one-line error: the last line of the form 'longnet ...: ...', else the last line that is
    not a JVM warning."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("longnet") and ":" in line:
            return line
    for line in reversed(lines):
        if not line.startswith("WARNING:"):
            return line
    return "longnet exited with status %d and printed no message" % returncode


def run(args, capture_stdout=False):
    """Runs ``longnet ARGS...``; returns its stdout (text) when capture_stdout, else None. A failure raises
    LongNetUsageError (exit 2) or LongNetError (any other status) carrying the engine's one-line message."""
    command = [launcher()] + [str(a) for a in args]
    result = subprocess.run(command, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
                            stderr=subprocess.PIPE, universal_newlines=True)
    if result.returncode != 0:
        cls = LongNetUsageError if result.returncode == 2 else LongNetError
        raise cls(_message(result.stderr, result.returncode), returncode=result.returncode,
                  stderr=result.stderr, command=command)
    return result.stdout if capture_stdout else None


def has_command(*words):
    """Whether this engine knows the command ``longnet WORDS...``: its --help succeeds and is that command's
    (an engine without it may print the top-level help instead)."""
    try:
        text = help_text(*words)
    except LongNetError:
        return False
    return text.lstrip().startswith("Usage: longnet %s" % " ".join(words))


def help_text(*words):
    """The --help text of ``longnet WORDS...``."""
    return run(list(words) + ["--help"], capture_stdout=True)
