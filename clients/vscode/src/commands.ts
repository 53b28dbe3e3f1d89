import * as vscode from "vscode";
import { promptUri } from "./promptDocument";
import {
  type AssistResult,
  Commands,
  componentFor,
  type DaemonStatus,
  executeCommand,
  type FeedbackResult,
  type LspRange,
  type Requester,
} from "./protocol";
import type { GepadStatusBar } from "./statusBar";

/** The palette and context-menu commands of the extension (their ids differ from the server's,
 * which vscode-languageclient registers itself). */
export const ExtensionCommands = {
  thumbsDown: "gepad.vscode.thumbsDown",
  thumbsUp: "gepad.vscode.thumbsUp",
  correct: "gepad.vscode.correct",
  assist: "gepad.vscode.assist",
  showPrompt: "gepad.vscode.showPrompt",
  status: "gepad.vscode.status",
  openDashboard: "gepad.vscode.openDashboard",
} as const;

export interface Target {
  uri: string;
  range: LspRange;
}

/** The selection, or the whole current line when nothing is selected, as an LSP range. */
export function targetOf(editor: vscode.TextEditor): Target {
  const sel = editor.selection;
  if (!sel.isEmpty) {
    return {
      uri: editor.document.uri.toString(),
      range: {
        start: { line: sel.start.line, character: sel.start.character },
        end: { line: sel.end.line, character: sel.end.character },
      },
    };
  }
  const line = sel.active.line;
  const length = editor.document.lineAt(line).text.length;
  return {
    uri: editor.document.uri.toString(),
    range: { start: { line, character: 0 }, end: { line, character: length } },
  };
}

export function activeComponent(): string {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    return "general";
  }
  return componentFor(editor.document.fileName, editor.document.languageId);
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    return err.message;
  }
  if (typeof err === "object" && err !== null && "message" in err) {
    return String((err as { message: unknown }).message);
  }
  return String(err);
}

function feedbackMessage(what: string, result: FeedbackResult): string {
  if (result.spooled) {
    return `gepad: ${what} saved; the daemon is not reachable, it will be sent when it is back.`;
  }
  return `gepad: ${what} recorded (example ${result.example_id}).`;
}

export class GepadCommands {
  constructor(
    private readonly client: Requester,
    private readonly ready: () => Promise<void>,
    private readonly statusBar: GepadStatusBar,
  ) {}

  async thumbsDown(): Promise<FeedbackResult | undefined> {
    const target = this.target();
    if (!target) {
      return undefined;
    }
    const comment = await vscode.window.showInputBox({
      title: "gepad: 👎",
      prompt: "What is wrong with it? (optional; Enter to skip, Escape to cancel)",
    });
    if (comment === undefined) {
      return undefined;
    }
    const args = comment.trim() ? { ...target, comment: comment.trim() } : target;
    const result = await this.call<FeedbackResult>(Commands.thumbsDown, args);
    if (result) {
      void vscode.window.showInformationMessage(feedbackMessage("👎", result));
    }
    return result;
  }

  async thumbsUp(): Promise<FeedbackResult | undefined> {
    const target = this.target();
    if (!target) {
      return undefined;
    }
    const result = await this.call<FeedbackResult>(Commands.thumbsUp, target);
    if (result) {
      void vscode.window.showInformationMessage(feedbackMessage("👍", result));
    }
    return result;
  }

  /** Tracks the selection; the user's own edit becomes the correction when the file is saved. */
  async correct(): Promise<unknown> {
    const target = this.target();
    if (!target) {
      return undefined;
    }
    const comment = await vscode.window.showInputBox({
      title: "gepad: correct selection",
      prompt: "Why is it wrong? (optional) Then edit the selection and save the file.",
    });
    if (comment === undefined) {
      return undefined;
    }
    const args = comment.trim() ? { ...target, comment: comment.trim() } : target;
    const result = await this.call<unknown>(Commands.correct, args);
    if (result !== undefined) {
      void vscode.window.showInformationMessage(
        "gepad: edit the selection and save; your edit is recorded as a correction.",
      );
    }
    return result;
  }

  async assist(): Promise<AssistResult | undefined> {
    const target = this.target();
    if (!target) {
      return undefined;
    }
    const instruction = await vscode.window.showInputBox({
      title: "gepad: ask the assistant",
      prompt: "What should the assistant do with the selection?",
      placeHolder: "e.g. rewrite this more concisely",
    });
    if (instruction === undefined || !instruction.trim()) {
      return undefined;
    }
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: "gepad: the assistant is writing…" },
      () => this.call<AssistResult>(Commands.assist, { ...target, instruction: instruction.trim() }),
    );
    if (result) {
      void vscode.window.showInformationMessage(
        `gepad: rewritten with prompt v${result.prompt_version} (generation ${result.generation_id}). ` +
          "Edit it freely: your changes are recorded as a correction when you save.",
      );
    }
    return result;
  }

  async showPrompt(): Promise<vscode.TextEditor | undefined> {
    try {
      const doc = await vscode.workspace.openTextDocument(promptUri(activeComponent()));
      return await vscode.window.showTextDocument(doc, { preview: true });
    } catch (err) {
      void vscode.window.showErrorMessage(`gepad: ${errorText(err)}`);
      return undefined;
    }
  }

  async status(): Promise<DaemonStatus | undefined> {
    const status = await this.refreshStatus();
    if (status) {
      const comps = (status.components ?? []).map((c) => `${c.component} v${c.version}`).join(", ");
      const total = status.examples_total ?? "?";
      void vscode.window.showInformationMessage(
        `gepad: optimizer ${status.optimizer?.state ?? "unknown"}; prompts ${comps || "none"}; ${total} examples.`,
      );
    }
    return status;
  }

  /** Asks the daemon for its status and updates the status bar; errors go to the status bar only. */
  async refreshStatus(): Promise<DaemonStatus | undefined> {
    this.statusBar.setComponent(activeComponent());
    try {
      await this.ready();
      const status = await executeCommand<DaemonStatus>(this.client, Commands.status, {});
      this.statusBar.applyStatus(status);
      return status;
    } catch (err) {
      this.statusBar.setError(errorText(err));
      return undefined;
    }
  }

  private target(): Target | undefined {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showErrorMessage("gepad: open a file and select some text first.");
      return undefined;
    }
    return targetOf(editor);
  }

  private async call<R>(command: string, args: object): Promise<R | undefined> {
    try {
      await this.ready();
      return await executeCommand<R>(this.client, command, args);
    } catch (err) {
      void vscode.window.showErrorMessage(`gepad: ${command} failed: ${errorText(err)}`);
      return undefined;
    }
  }
}
