import * as vscode from "vscode";
import type { DaemonStatus, PromptChanged } from "./protocol";

interface PromptInfo {
  version: number;
  score: number | null;
}

/** The status bar item: the current component's prompt version and the optimizer's state. */
export class GepadStatusBar implements vscode.Disposable {
  private readonly prompts = new Map<string, PromptInfo>();
  private optimizerState = "unknown";
  private component = "general";
  private error: string | undefined;

  constructor(private readonly item: vscode.StatusBarItem) {
    item.command = "gepad.vscode.showPrompt";
    item.name = "gepad";
    this.render();
    item.show();
  }

  setComponent(component: string): void {
    this.component = component;
    this.render();
  }

  applyStatus(status: DaemonStatus): void {
    for (const c of status.components ?? []) {
      this.prompts.set(c.component, { version: c.version, score: c.score });
    }
    const state = status.optimizer?.state;
    this.optimizerState = typeof state === "string" ? state : "unknown";
    this.error = undefined;
    this.render();
  }

  applyPromptChanged(change: PromptChanged): void {
    this.prompts.set(change.component, { version: change.version, score: change.score });
    this.render();
  }

  setError(message: string): void {
    this.error = message;
    this.render();
  }

  get text(): string {
    return this.item.text;
  }

  private render(): void {
    const prompt = this.prompts.get(this.component);
    const version = prompt ? `v${prompt.version}` : "v?";
    if (this.error !== undefined) {
      this.item.text = `$(warning) gepad ${version}`;
      this.item.tooltip = `gepad: ${this.error}`;
      return;
    }
    this.item.text = `$(sparkle) gepad ${version} · ${this.optimizerState}`;
    const score = prompt?.score == null ? "no score yet" : `score ${prompt.score.toFixed(3)}`;
    this.item.tooltip =
      `gepad: ${this.component} prompt ${version} (${score}); ` +
      `optimizer ${this.optimizerState}. Click to show the prompt.`;
  }

  dispose(): void {
    this.item.dispose();
  }
}
