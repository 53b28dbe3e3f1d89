// A small stand-in for the `vscode` module, which exists only inside VS Code. It records what
// the extension asks of the editor and lets a test script the user's answers.
import Module = require("node:module");

export interface Pos {
  line: number;
  character: number;
}

export class Position implements Pos {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Selection {
  readonly start: Position;
  readonly end: Position;
  constructor(
    readonly anchor: Position,
    readonly active: Position,
  ) {
    const before =
      anchor.line < active.line || (anchor.line === active.line && anchor.character <= active.character);
    this.start = before ? anchor : active;
    this.end = before ? active : anchor;
  }
  get isEmpty(): boolean {
    return this.start.line === this.end.line && this.start.character === this.end.character;
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
    private readonly raw: string,
  ) {}
  static parse(value: string): Uri {
    const url = new URL(value);
    return new Uri(url.protocol.replace(/:$/, ""), decodeURIComponent(url.pathname), value);
  }
  static file(path: string): Uri {
    return new Uri("file", path, `file://${path}`);
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return this.raw;
  }
}

export class EventEmitter<T> {
  private listeners: Array<(value: T) => void> = [];
  readonly event = (listener: (value: T) => void) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(value: T): void {
    for (const l of this.listeners) {
      l(value);
    }
  }
  dispose(): void {
    this.listeners = [];
  }
}

export interface FakeDocument {
  uri: Uri;
  fileName: string;
  languageId: string;
  lines: string[];
  lineAt(line: number): { text: string };
  getText(): string;
}

export function fakeDocument(path: string, languageId: string, text: string): FakeDocument {
  const lines = text.split("\n");
  return {
    uri: Uri.file(path),
    fileName: path,
    languageId,
    lines,
    lineAt: (line: number) => {
      if (line < 0 || line >= lines.length) {
        throw new Error(`line ${line} out of range`);
      }
      return { text: lines[line] };
    },
    getText: () => text,
  };
}

export interface StatusItem {
  text: string;
  tooltip?: string;
  command?: string;
  name?: string;
  visible: boolean;
  disposed: boolean;
  show(): void;
  dispose(): void;
}

interface ContentProvider {
  provideTextDocumentContent(uri: Uri): Promise<string>;
  onDidChange?: (listener: (uri: Uri) => void) => { dispose(): void };
}

/** Everything the mock records; reset between tests. */
export class MockState {
  commands = new Map<string, (...args: unknown[]) => unknown>();
  inputAnswers: Array<string | undefined> = [];
  inputBoxes: Array<Record<string, unknown>> = [];
  info: string[] = [];
  errors: string[] = [];
  statusItems: StatusItem[] = [];
  config: Record<string, unknown> = {};
  providers = new Map<string, ContentProvider>();
  shownDocuments: Array<{ uri: Uri; text: string }> = [];
  opened: string[] = [];
  activeTextEditor: { document: FakeDocument; selection: Selection } | undefined;
  activeEditorListeners: Array<() => void> = [];
}

export const state = { current: new MockState() };

function s(): MockState {
  return state.current;
}

export function resetMock(): MockState {
  state.current = new MockState();
  return state.current;
}

export function setEditor(document: FakeDocument, selection: Selection): void {
  s().activeTextEditor = { document, selection };
}

const vscodeMock = {
  __esModule: true,
  Position,
  Selection,
  Uri,
  EventEmitter,
  StatusBarAlignment: { Left: 1, Right: 2 },
  ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
  window: {
    get activeTextEditor() {
      return s().activeTextEditor;
    },
    async showInputBox(options: Record<string, unknown>) {
      s().inputBoxes.push(options);
      if (s().inputAnswers.length === 0) {
        throw new Error("the test did not script an answer for this input box");
      }
      return s().inputAnswers.shift();
    },
    async showInformationMessage(message: string) {
      s().info.push(message);
      return undefined;
    },
    async showErrorMessage(message: string) {
      s().errors.push(message);
      return undefined;
    },
    async withProgress<T>(_options: unknown, task: () => Promise<T>) {
      return task();
    },
    createStatusBarItem(): StatusItem {
      const item: StatusItem = {
        text: "",
        visible: false,
        disposed: false,
        show() {
          item.visible = true;
        },
        dispose() {
          item.disposed = true;
        },
      };
      s().statusItems.push(item);
      return item;
    },
    async showTextDocument(doc: { uri: Uri; getText(): string }) {
      s().shownDocuments.push({ uri: doc.uri, text: doc.getText() });
      return { document: doc };
    },
    onDidChangeActiveTextEditor(listener: () => void) {
      s().activeEditorListeners.push(listener);
      return { dispose() {} };
    },
  },
  workspace: {
    getConfiguration(section: string) {
      return {
        get<T>(key: string, fallback: T): T {
          const full = `${section}.${key}`;
          return (full in s().config ? s().config[full] : fallback) as T;
        },
      };
    },
    registerTextDocumentContentProvider(scheme: string, provider: ContentProvider) {
      s().providers.set(scheme, provider);
      return { dispose: () => s().providers.delete(scheme) };
    },
    async openTextDocument(uri: Uri) {
      const provider = s().providers.get(uri.scheme);
      if (!provider) {
        throw new Error(`no content provider for scheme ${uri.scheme}`);
      }
      const text = await provider.provideTextDocumentContent(uri);
      return { uri, getText: () => text };
    },
  },
  env: {
    async openExternal(uri: Uri) {
      s().opened.push(uri.toString());
      return true;
    },
  },
  commands: {
    registerCommand(id: string, handler: (...args: unknown[]) => unknown) {
      if (s().commands.has(id)) {
        throw new Error(`command ${id} registered twice`);
      }
      s().commands.set(id, handler);
      return { dispose: () => s().commands.delete(id) };
    },
  },
};

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;
const mod = Module as unknown as { _load: Loader };
const originalLoad = mod._load;
mod._load = function (this: unknown, request: string, parent: unknown, isMain: boolean) {
  if (request === "vscode") {
    return vscodeMock;
  }
  return originalLoad.call(this, request, parent, isMain);
};
