import { execFile } from "node:child_process";
import * as vscode from "vscode";
import {
  createLanguageClient,
  type GepadLanguageClient,
  type ServerCommand,
  serverCommand,
} from "./client";
import { activeComponent, ExtensionCommands, GepadCommands } from "./commands";
import { PROMPT_SCHEME, PromptDocuments } from "./promptDocument";
import { isPromptChanged, PROMPT_CHANGED } from "./protocol";
import { GepadStatusBar } from "./statusBar";

export interface Dependencies {
  createClient(server: ServerCommand): GepadLanguageClient;
  /** The dashboard's one-time URL (default: `gepad dashboard --print-url`). */
  dashboardUrl?(server: ServerCommand): Promise<string>;
}

/** Runs `<serverPath> dashboard --print-url`: the daemon hands out a link that works once. */
export function printDashboardUrl(server: ServerCommand): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(server.command, ["dashboard", "--print-url"], { timeout: 20_000 }, (err, stdout, stderr) => {
      const url = String(stdout).trim();
      if (err || !/^http:\/\/[^\s]+$/.test(url)) {
        reject(new Error(String(stderr).trim() || (err ? err.message : `unexpected output: ${url}`)));
      } else {
        resolve(url);
      }
    });
  });
}

async function openDashboard(server: ServerCommand, deps: Dependencies): Promise<void> {
  try {
    const url = await (deps.dashboardUrl ?? printDashboardUrl)(server);
    await vscode.env.openExternal(vscode.Uri.parse(url));
  } catch (err) {
    void vscode.window.showErrorMessage(`gepad: could not open the dashboard: ${(err as Error).message}`);
  }
}

export interface Activated {
  client: GepadLanguageClient;
  commands: GepadCommands;
  statusBar: GepadStatusBar;
  prompts: PromptDocuments;
}

let running: GepadLanguageClient | undefined;

export async function activate(
  context: vscode.ExtensionContext,
  deps: Dependencies = { createClient: createLanguageClient },
): Promise<Activated | undefined> {
  const config = vscode.workspace.getConfiguration("gepad");
  let server: ServerCommand;
  try {
    server = serverCommand(config.get("serverPath", "gepad"), config.get("serverArgs", ["lsp"]));
  } catch (err) {
    void vscode.window.showErrorMessage(`gepad: ${(err as Error).message}`);
    return undefined;
  }
  const client = deps.createClient(server);
  running = client;
  const started = client.start();
  // A failed start is reported once, here; each command then reports its own failure.
  started.catch((err: unknown) => {
    void vscode.window.showErrorMessage(
      `gepad: could not start the language server \`${[server.command, ...server.args].join(" ")}\`: ` +
        `${err instanceof Error ? err.message : String(err)}. Check the setting gepad.serverPath.`,
    );
  });
  const ready = () => started;

  const statusBar = new GepadStatusBar(
    vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100),
  );
  const prompts = new PromptDocuments(client, ready);
  const commands = new GepadCommands(client, ready, statusBar);

  context.subscriptions.push(
    statusBar,
    prompts,
    vscode.workspace.registerTextDocumentContentProvider(PROMPT_SCHEME, prompts),
    vscode.commands.registerCommand(ExtensionCommands.thumbsDown, () => commands.thumbsDown()),
    vscode.commands.registerCommand(ExtensionCommands.thumbsUp, () => commands.thumbsUp()),
    vscode.commands.registerCommand(ExtensionCommands.correct, () => commands.correct()),
    vscode.commands.registerCommand(ExtensionCommands.assist, () => commands.assist()),
    vscode.commands.registerCommand(ExtensionCommands.showPrompt, () => commands.showPrompt()),
    vscode.commands.registerCommand(ExtensionCommands.status, () => commands.status()),
    vscode.commands.registerCommand(ExtensionCommands.openDashboard, () => openDashboard(server, deps)),
    client.onNotification(PROMPT_CHANGED, (params: unknown) => {
      if (isPromptChanged(params)) {
        statusBar.applyPromptChanged(params);
        prompts.promptChanged(params.component);
        // The optimizer's state changes with a swap; the next refresh brings it.
        void commands.refreshStatus();
      }
    }),
    vscode.window.onDidChangeActiveTextEditor(() => statusBar.setComponent(activeComponent())),
  );

  const seconds = config.get<number>("statusRefreshSeconds", 30);
  if (typeof seconds === "number" && seconds > 0) {
    const timer = setInterval(() => void commands.refreshStatus(), seconds * 1000);
    context.subscriptions.push({ dispose: () => clearInterval(timer) });
  }
  void commands.refreshStatus();
  return { client, commands, statusBar, prompts };
}

export async function deactivate(): Promise<void> {
  const client = running;
  running = undefined;
  if (client) {
    try {
      await client.stop();
    } catch {
      // A server that never started has nothing to stop.
    }
  }
}
