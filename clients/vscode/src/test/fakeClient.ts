// A scripted language client: records each request and answers from a table, the way
// vscode-languageclient would relay `gepad lsp`'s responses.
import type { GepadLanguageClient, ServerCommand } from "../client";

export interface SentRequest {
  method: string;
  params: { command: string; arguments: Array<Record<string, unknown>> };
}

export class FakeClient implements GepadLanguageClient {
  readonly sent: SentRequest[] = [];
  readonly handlers = new Map<string, (params: unknown) => void>();
  readonly responses = new Map<string, (args: Record<string, unknown>) => unknown>();
  started = 0;
  stopped = 0;
  startError: Error | undefined;

  constructor(readonly server: ServerCommand) {}

  async start(): Promise<void> {
    this.started += 1;
    if (this.startError) {
      throw this.startError;
    }
  }

  async stop(): Promise<void> {
    this.stopped += 1;
  }

  async sendRequest<R>(method: string, params: unknown): Promise<R> {
    const p = params as SentRequest["params"];
    this.sent.push({ method, params: p });
    const respond = this.responses.get(p.command);
    if (!respond) {
      // What the server answers for a command it does not know: a ResponseError.
      throw Object.assign(new Error(`unknown command: ${p.command}`), { code: -32601 });
    }
    return respond(p.arguments[0]) as R;
  }

  onNotification(method: string, handler: (params: unknown) => void): { dispose(): void } {
    this.handlers.set(method, handler);
    return { dispose: () => this.handlers.delete(method) };
  }

  notify(method: string, params: unknown): void {
    const handler = this.handlers.get(method);
    if (!handler) {
      throw new Error(`no handler for ${method}`);
    }
    handler(params);
  }

  /** The requests for one server command, in order. */
  calls(command: string): Array<Record<string, unknown>> {
    return this.sent.filter((r) => r.params.command === command).map((r) => r.params.arguments[0]);
  }
}
