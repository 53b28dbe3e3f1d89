"""The argument parser. Each command names the module that runs it (`_cmd_<name>.run`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from gepad import __version__

__all__ = ["FEEDBACK_KINDS", "TEXT_FIELDS", "build_parser", "positive_int"]

FEEDBACK_KINDS = ("thumbs-down", "thumbs-up", "correction", "comment")
# Feedback fields that take text, given inline (`--output TEXT`) or from a file (`--output-file F`).
TEXT_FIELDS = ("output", "context", "corrected", "comment")

_EPILOG = """exit codes: 0 ok, 1 failure, 2 usage or config error, 3 daemon not running.
See README.md ("Command line") for the --json shapes."""


def positive_int(text: str) -> int:
    message = f"expected a positive whole number, got {text!r}"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(message) from None
    if value < 1:
        raise argparse.ArgumentTypeError(message)
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gepad",
        description="gepad: the local personalization daemon for AI coding assistants.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gepad {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    start = commands.add_parser("start", help="start the daemon (in the background by default)")
    start.add_argument("--foreground", action="store_true", help="run in this terminal")
    start.add_argument("--verbose", action="store_true", help="log at DEBUG level")
    start.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds to wait for it to be ready (default: while it makes progress, up to 60)",
    )
    start.set_defaults(handler="lifecycle", lifecycle="start")

    stop = commands.add_parser("stop", help="stop the daemon (SIGTERM, then wait)")
    stop.add_argument(
        "--timeout", type=float, default=15.0, help="seconds to wait for it to exit (15)"
    )
    stop.set_defaults(handler="lifecycle", lifecycle="stop")

    status = commands.add_parser("status", help="is it running; examples; prompt versions")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler="status")

    _add_prompt(commands)

    examples = commands.add_parser("examples", help="list recorded feedback examples")
    examples.add_argument("--json", action="store_true", help="machine-readable output")
    examples.add_argument("--limit", type=positive_int, default=50, help="how many (50)")
    examples.add_argument("--kind", help="only this kind (thumbs-down, correction, ...)")
    examples.add_argument(
        "--id", type=positive_int, help="show this one example whole (listings cut long fields)"
    )
    examples.add_argument(
        "--retired", action="store_true", help="list retired examples and why they were retired"
    )
    examples.add_argument(
        "action", nargs="?", choices=("restore", "retire"),
        help="restore ID: give a retired example back to the optimizer; retire ID: take it away",
    )  # fmt: skip
    examples.add_argument("target", nargs="?", type=positive_int, help="the example id")
    examples.set_defaults(handler="examples")

    forget = commands.add_parser(
        "forget", help="drop a rule: retire the feedback about it, propose a prompt without it"
    )
    forget.add_argument("rule", help='the rule or text to drop, e.g. "use tabs"')
    forget.add_argument(
        "--ids", help="comma-separated example ids to retire (default: the model decides)"
    )
    forget.add_argument("--component", default="general", help="the component (general)")
    forget.add_argument("--yes", action="store_true", help="do it without asking")
    forget.add_argument("--json", action="store_true", help="machine-readable output")
    forget.set_defaults(handler="forget")

    _add_feedback(commands)

    optimize = commands.add_parser(
        "optimize", help="show the optimizer, run it now, pause or resume it"
    )
    optimize.add_argument("--now", action="store_true", help="start a run now")
    optimize.add_argument(
        "--budget", type=positive_int, help="run now, spending at most N rollouts"
    )
    mode = optimize.add_mutually_exclusive_group()
    mode.add_argument("--pause", action="store_true", help="pause until --resume")
    mode.add_argument("--resume", action="store_true", help="resume a paused optimizer")
    optimize.add_argument("--json", action="store_true", help="machine-readable output")
    optimize.set_defaults(handler="optimize")

    doctor = commands.add_parser("doctor", help="check the config, the daemon and the database")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.set_defaults(handler="doctor")

    logs = commands.add_parser("logs", help="show the daemon's log")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("-n", "--lines", type=int, default=50, help="how many last lines (50)")
    logs.set_defaults(handler="logs")

    service = commands.add_parser(
        "service", help="install a user service (systemd / launchd) that keeps gepad running"
    )
    service.add_argument("action", choices=("install", "uninstall"))
    service.set_defaults(handler="service")
    _add_kernel(commands)
    _add_deliver(commands)
    workspace = commands.add_parser(
        "workspace", help="folders watched for test and compiler reports (outcomes)"
    )
    workspace.add_argument("workspace_action", choices=("add", "remove", "list"))
    workspace.add_argument("path", nargs="?", default=".", help="the folder (current folder)")
    workspace.add_argument("--json", action="store_true", help="machine-readable output")
    workspace.set_defaults(handler="workspace")
    _add_capture(commands)
    dashboard = commands.add_parser("dashboard", help="open the live dashboard in the browser")
    dashboard.add_argument("--print-url", action="store_true", help="only print its URL")
    dashboard.set_defaults(handler="dashboard")
    mcp = commands.add_parser("mcp", help="serve the prompt and feedback tools over MCP (stdio)")
    mcp.add_argument(
        "--home",
        type=Path,
        help="gepad's home (GEPAD_HOME), for MCP clients that do not pass the environment on",
    )
    mcp.set_defaults(handler="mcp")
    lsp = commands.add_parser("lsp", help="the language server for editors (LSP over stdio)")
    lsp.add_argument("--verbose", action="store_true", help="log at DEBUG level (stderr)")
    lsp.add_argument("--stdio", action="store_true", help="accepted for editors; the default")
    lsp.set_defaults(handler="lsp")
    return parser


def _add_prompt(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # The shared options are accepted before or after the action; SUPPRESS keeps an action's
    # parser from overwriting a value given to `prompt` itself.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--component", default=argparse.SUPPRESS, help="prompt component (general)")
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    prompt = commands.add_parser(
        "prompt", parents=[common], help="show, edit, roll back, pin or approve the prompt"
    )
    prompt.set_defaults(handler="prompt", action="show")
    actions = prompt.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("show", parents=[common], help="the current version (default)")
    history = actions.add_parser("history", parents=[common], help="versions, newest first")
    history.add_argument("--limit", type=positive_int, default=20, help="how many (20)")
    diff = actions.add_parser("diff", parents=[common], help="unified diff of two versions")
    diff.add_argument("a", type=positive_int, metavar="A")
    diff.add_argument(
        "b", type=positive_int, metavar="B", nargs="?", help="default: the current version"
    )
    set_ = actions.add_parser("set", parents=[common], help="make a file's text the new version")
    set_.add_argument("--file", required=True, metavar="F", help="the new prompt text ('-': stdin)")
    rollback = actions.add_parser(
        "rollback", parents=[common], help="make version V current again (as a new version)"
    )
    rollback.add_argument("version", type=positive_int, metavar="V")
    actions.add_parser("pin", parents=[common], help="never swap this component automatically")
    actions.add_parser("unpin", parents=[common], help="allow swaps again")
    approve = actions.add_parser("approve", parents=[common], help="approve pending version V")
    approve.add_argument("version", type=positive_int, metavar="V")
    reject = actions.add_parser("reject", parents=[common], help="reject pending version V")
    reject.add_argument("version", type=positive_int, metavar="V")
    why = actions.add_parser("why", parents=[common], help="where each line came from")
    why.add_argument("--line", type=positive_int, metavar="N", help="only line N")
    why.add_argument("--version", type=positive_int, metavar="V", help="version (current)")


def _add_feedback(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    for field in TEXT_FIELDS:
        group = common.add_mutually_exclusive_group()
        group.add_argument(f"--{field}", metavar="TEXT", help=f"the {field} text")
        group.add_argument(
            f"--{field}-file", metavar="F", help=f"read the {field} from a file ('-': stdin)"
        )
    common.add_argument("--file", dest="source_file", metavar="PATH_OR_URI", help="the file")
    common.add_argument("--workspace", metavar="PATH_OR_URI", help="the workspace folder")
    common.add_argument("--language", help="language id, e.g. python")
    common.add_argument("--component", default="general", help="prompt component (general)")
    common.add_argument("--generation-id", type=positive_int, help="the generation this is about")
    common.add_argument("--prompt-version", type=positive_int, help="the prompt version used")
    common.add_argument("--json", action="store_true", help="machine-readable output")

    feedback = commands.add_parser("feedback", help="record feedback on what the assistant did")
    kinds = feedback.add_subparsers(dest="kind", metavar="KIND", required=True)
    descriptions = {
        "thumbs-down": "the output was bad (say why with --comment)",
        "thumbs-up": "the output was good",
        "correction": "what the output should have been (--corrected or --corrected-file)",
        "comment": "a remark about the output (--comment)",
    }
    for kind in FEEDBACK_KINDS:
        kinds.add_parser(kind, parents=[common], help=descriptions[kind])
    feedback.set_defaults(handler="feedback")


def _add_kernel(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kernel = commands.add_parser("kernel", help="kernel mode: evaluate a kernel, search kernels")
    actions = kernel.add_subparsers(dest="kernel_action", metavar="ACTION", required=True)
    tools = argparse.ArgumentParser(add_help=False)
    tools.add_argument("--arch", default="sm_80", help="nvcc target when no GPU (sm_80)")
    tools.add_argument("--no-gpu", action="store_true", help="compile-only, even with a GPU")
    solve = actions.add_parser(
        "solve", parents=[tools], help="evolve the kernel prompt over problems (test-time search)"
    )
    solve.add_argument(
        "problems", nargs="+", metavar="PROBLEM", help="a shipped problem name or a problem TOML"
    )
    solve.add_argument(
        "--budget", default="small", help="rollouts: a number, or small, medium, large (small)"
    )
    solve.add_argument("--json", metavar="OUT", help="write the full report as JSON (- = stdout)")
    solve.add_argument(
        "--simulated", action="store_true", help="use the simulated writer, not the task model"
    )
    solve.add_argument("--seed-prompt-file", metavar="F", help="start from this prompt")
    evaluate = actions.add_parser(
        "eval", parents=[tools], help="run one kernel file through the checks and toolchain"
    )
    evaluate.add_argument("file", metavar="FILE", help="a .cu file")
    evaluate.add_argument("--problem", required=True, help="a shipped problem name or a TOML")
    evaluate.add_argument("--json", action="store_true", help="machine-readable output")
    kernel.set_defaults(handler="kernel")


DELIVERY_TARGETS = (
    "agents-md", "copilot", "claude", "cursor", "cline", "continue", "claude-hook", "windsurf",
    "gemini", "aider", "claude-capture",
)  # fmt: skip


def _add_deliver(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--workspace", metavar="DIR", default=".", help="the workspace folder (current folder)"
    )
    common.add_argument("--json", action="store_true", help="machine-readable output")
    deliver = commands.add_parser(
        "deliver", help="write the prompt into assistants' instruction files (per workspace)"
    )
    actions = deliver.add_subparsers(dest="deliver_action", metavar="ACTION", required=True)
    for name, text in (("enable", "start delivering"), ("disable", "remove what gepad wrote")):
        action = actions.add_parser(name, parents=[common], help=f"{text} for a target")
        action.add_argument(
            "--target", required=True, choices=DELIVERY_TARGETS, help="where to deliver"
        )
        if name == "enable":
            action.add_argument("--component", default="general", help="prompt component")
    status = actions.add_parser("status", parents=[common], help="what is delivered where")
    status.add_argument("--all", action="store_true", help="every workspace, not just this one")
    deliver.set_defaults(handler="deliver")


def _add_capture(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    capture = commands.add_parser(
        "capture", help="learn from Claude Code, Continue and git (what is captured, from where)"
    )
    actions = capture.add_subparsers(dest="capture_action", metavar="ACTION", required=True)
    for name, text in (("enable", "start capturing"), ("disable", "stop capturing")):
        action = actions.add_parser(name, help=f"{text} from continue or git")
        action.add_argument("source", choices=("continue", "git"))
        action.add_argument(
            "--workspace", default=".", metavar="DIR", help="git: the repository (current folder)"
        )
        if name == "enable":
            action.add_argument(
                "--path", metavar="DIR", help="continue: the dev-data folder (~/.continue/dev_data)"
            )
        action.add_argument("--json", action="store_true", help="machine-readable output")
    status = actions.add_parser("status", help="each source, what it captured today, its errors")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    last = actions.add_parser("last", help="the last generation recorded from Claude Code")
    last.add_argument("--workspace", default=".", metavar="DIR", help="the project (current)")
    last.add_argument("--json", action="store_true", help="machine-readable output")
    capture.set_defaults(handler="capture")
