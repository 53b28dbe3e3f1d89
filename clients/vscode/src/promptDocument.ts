import * as vscode from "vscode";
import { Commands, executeCommand, type PromptState, type Requester } from "./protocol";

export const PROMPT_SCHEME = "gepad";

export function promptUri(component: string): vscode.Uri {
  return vscode.Uri.parse(`${PROMPT_SCHEME}:/prompt/${encodeURIComponent(component)}.md`);
}

export function componentOfUri(uri: vscode.Uri): string {
  const match = /^\/prompt\/(.+)\.md$/.exec(uri.path);
  if (!match) {
    throw new Error(`not a gepad prompt document: ${uri.toString()}`);
  }
  return decodeURIComponent(match[1]);
}

export function renderPrompt(prompt: PromptState): string {
  const score = prompt.score == null ? "none yet" : prompt.score.toFixed(3);
  const flags = [prompt.source, prompt.pinned ? "pinned" : undefined, prompt.pending ? "a new version awaits approval" : undefined]
    .filter((f) => f !== undefined)
    .join(", ");
  return `<!-- gepad prompt: ${prompt.component} v${prompt.version}, score ${score} (${flags}) -->\n\n${prompt.text}\n`;
}

/**
 * Read-only `gepad:` documents showing the current prompt of a component. Virtual documents
 * cannot be edited, and they refresh when the server announces a new prompt.
 */
export class PromptDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly client: Requester,
    private readonly ready: () => Promise<void>,
  ) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    await this.ready();
    const component = componentOfUri(uri);
    const prompt = await executeCommand<PromptState>(this.client, Commands.prompt, { component });
    return renderPrompt(prompt);
  }

  promptChanged(component: string): void {
    this.changed.fire(promptUri(component));
  }

  dispose(): void {
    this.changed.dispose();
  }
}
