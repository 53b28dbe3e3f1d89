// The real vscode-languageclient, built the way the extension builds it, with a catch-all
// stand-in for `vscode` (node:test runs each file in its own process, so this stand-in does
// not meet the recording one of the other tests).
import Module = require("node:module");

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

const manifest = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8"));
// The oldest VS Code the manifest admits, e.g. "^1.82.0" -> "1.82.0".
const oldestVscode = String(manifest.engines.vscode).replace(/^[\^~>=]+/, "");

class EventEmitter<T> {
  private listeners: Array<(v: T) => void> = [];
  readonly event = (f: (v: T) => void) => {
    this.listeners.push(f);
    return { dispose() {} };
  };
  fire(v: T): void {
    this.listeners.forEach((f) => f(v));
  }
  dispose(): void {}
}

class Disposable {
  constructor(private readonly f?: () => void) {}
  static from(...items: Array<{ dispose(): void }>): Disposable {
    return new Disposable(() => items.forEach((d) => d.dispose()));
  }
  dispose(): void {
    this.f?.();
  }
}

/** Any namespace, function or class the library touches while loading and constructing. */
function anything(seed: Record<string, unknown> = {}): unknown {
  const target = Object.assign(function () {}, seed) as unknown as Record<string | symbol, unknown>;
  return new Proxy(target, {
    get(t, p) {
      if (p === "then" || typeof p === "symbol") {
        return undefined;
      }
      if (!(p in t)) {
        t[p] = /^[A-Z]/.test(p) ? class {} : anything();
      }
      return t[p];
    },
    apply: () => ({ dispose() {} }),
    construct: () => ({}),
  });
}

const vscode = anything({ EventEmitter, Disposable, version: oldestVscode });
type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;
const mod = Module as unknown as { _load: Loader };
const originalLoad = mod._load;
mod._load = function (this: unknown, request: string, parent: unknown, isMain: boolean) {
  return request === "vscode" ? vscode : originalLoad.call(this, request, parent, isMain);
};

describe("the real language client", () => {
  it("is built over stdio with the configured command, for file and untitled documents", async () => {
    const { createLanguageClient } = await import("../client");
    const client = createLanguageClient({ command: "/opt/gepad/bin/gepad", args: ["lsp", "--verbose"] });
    assert.equal(client.constructor.name, "LanguageClient");
    const internals = client as unknown as {
      _serverOptions: unknown;
      _clientOptions: { documentSelector: unknown };
      name: string;
    };
    assert.equal(internals.name, "gepad");
    assert.deepEqual(internals._serverOptions, {
      command: "/opt/gepad/bin/gepad",
      args: ["lsp", "--verbose"],
      transport: 0, // TransportKind.stdio
    });
    assert.deepEqual(internals._clientOptions.documentSelector, [{ scheme: "file" }, { scheme: "untitled" }]);
    for (const method of ["start", "stop", "sendRequest", "onNotification"] as const) {
      assert.equal(typeof client[method], "function", method);
    }
  });

  it("accepts the oldest VS Code the manifest admits", async () => {
    // vscode-languageclient refuses, at construction, a VS Code older than it needs.
    const { createLanguageClient } = await import("../client");
    assert.doesNotThrow(() => createLanguageClient({ command: "gepad", args: ["lsp"] }));
    const lcManifest = JSON.parse(
      readFileSync(join(__dirname, "..", "..", "node_modules", "vscode-languageclient", "package.json"), "utf8"),
    );
    assert.equal(lcManifest.engines.vscode, manifest.engines.vscode);
  });
});
