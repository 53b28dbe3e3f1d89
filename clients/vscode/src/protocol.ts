// The gepad language server's commands (workspace/executeCommand, one object argument each)
// and notification, exactly as `gepad lsp` defines them. Ranges are 0-based LSP ranges.

export interface LspPosition {
  line: number;
  character: number;
}

export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

export interface FeedbackResult {
  example_id?: number;
  spooled?: boolean;
}

export interface AssistResult {
  generation_id: number;
  prompt_version: number;
}

export interface PromptState {
  component: string;
  version: number;
  text: string;
  score: number | null;
  source: string;
  created_at: number;
  pinned: boolean;
  pending: unknown;
}

export interface DaemonStatus {
  components?: PromptState[];
  optimizer?: { state?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface PromptChanged {
  component: string;
  version: number;
  score: number | null;
}

export const Commands = {
  thumbsDown: "gepad.thumbsDown",
  thumbsUp: "gepad.thumbsUp",
  correct: "gepad.correct",
  assist: "gepad.assist",
  prompt: "gepad.prompt",
  status: "gepad.status",
} as const;

export const PROMPT_CHANGED = "gepad/promptChanged";
export const EXECUTE_COMMAND = "workspace/executeCommand";

/** The part of a language client the extension uses; the real one is vscode-languageclient's. */
export interface Requester {
  sendRequest<R>(method: string, params: unknown): Promise<R>;
  onNotification(method: string, handler: (params: unknown) => void): { dispose(): void };
}

export function executeCommand<R>(client: Requester, command: string, args: object): Promise<R> {
  return client.sendRequest<R>(EXECUTE_COMMAND, { command, arguments: [args] });
}

/** Which prompt component a file's feedback goes to, as the server's default mapping does. */
export function componentFor(fileName: string, languageId: string): string {
  const lower = fileName.toLowerCase();
  if (lower.endsWith(".cu") || lower.endsWith(".cuh") || languageId === "cuda-cpp") {
    return "kernel";
  }
  return "general";
}

export function isPromptChanged(value: unknown): value is PromptChanged {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const v = value as Record<string, unknown>;
  return typeof v.component === "string" && typeof v.version === "number";
}
