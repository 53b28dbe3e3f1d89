import type * as lc from "vscode-languageclient/node";
import type { Requester } from "./protocol";

export interface GepadLanguageClient extends Requester {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServerCommand {
  command: string;
  args: string[];
}

/** `gepad.serverPath` and `gepad.serverArgs`, checked: a bad setting is named, not guessed at. */
export function serverCommand(path: unknown, args: unknown): ServerCommand {
  if (typeof path !== "string" || !path.trim()) {
    throw new Error("the setting gepad.serverPath must be a non-empty string (e.g. \"gepad\")");
  }
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
    throw new Error("the setting gepad.serverArgs must be an array of strings (e.g. [\"lsp\"])");
  }
  return { command: path.trim(), args: [...args] };
}

/** The real client: vscode-languageclient over stdio. Loaded lazily, as it needs VS Code itself. */
export function createLanguageClient(server: ServerCommand): GepadLanguageClient {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const node: typeof lc = require("vscode-languageclient/node");
  const serverOptions: lc.ServerOptions = {
    command: server.command,
    args: server.args,
    transport: node.TransportKind.stdio,
  };
  const clientOptions: lc.LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    outputChannelName: "gepad",
  };
  return new node.LanguageClient("gepad", "gepad", serverOptions, clientOptions);
}
