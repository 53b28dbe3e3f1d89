import { fakeDocument, Position, resetMock, Selection, setEditor, type MockState } from "./vscodeMock";

import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { activate, type Activated, deactivate } from "../extension";
import { FakeClient } from "./fakeClient";

const manifest = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8"));
const URI = "file:///work/notes.py";
const TEXT = "import os\n\ndef greet(name):\n    return 'hi ' + name\n";

const STATUS = {
  version: "0.1.0",
  components: [
    { component: "general", version: 3, text: "Be terse.", score: 0.5, source: "user", created_at: 1, pinned: false, pending: null },
    { component: "kernel", version: 1, text: "Write CUDA.", score: null, source: "seed", created_at: 1, pinned: false, pending: null },
  ],
  examples_total: 7,
  optimizer: { state: "idle" },
};

function context(): { subscriptions: Array<{ dispose(): unknown }> } {
  return { subscriptions: [] };
}

let mock: MockState;
let client: FakeClient;
let ctx: ReturnType<typeof context>;
let ext: Activated;

async function start(config: Record<string, unknown> = {}): Promise<Activated> {
  mock.config = { "gepad.statusRefreshSeconds": 0, ...config };
  const activated = await activate(ctx as never, {
    createClient: (server) => {
      client = new FakeClient(server);
      client.responses.set("gepad.status", () => STATUS);
      return client;
    },
  });
  assert.ok(activated, `activation failed: ${mock.errors.join("; ")}`);
  return activated;
}

async function run(id: string): Promise<unknown> {
  const handler = mock.commands.get(id);
  assert.ok(handler, `command ${id} is not registered`);
  return handler();
}

beforeEach(async () => {
  mock = resetMock();
  ctx = context();
  setEditor(fakeDocument("/work/notes.py", "python", TEXT), new Selection(new Position(2, 4), new Position(3, 10)));
  ext = await start();
});

afterEach(async () => {
  for (const d of ctx.subscriptions) {
    d.dispose();
  }
  await deactivate();
});

describe("activation", () => {
  it("registers every command the manifest contributes, and no other", () => {
    const declared = manifest.contributes.commands.map((c: { command: string }) => c.command).sort();
    assert.deepEqual([...mock.commands.keys()].sort(), declared);
    assert.equal(declared.length, 7);
  });

  it("lists every menu entry among the contributed commands, in the palette and the editor menu", () => {
    const declared = new Set(manifest.contributes.commands.map((c: { command: string }) => c.command));
    for (const menu of ["commandPalette", "editor/context"]) {
      const entries = manifest.contributes.menus[menu] as Array<{ command: string }>;
      assert.ok(entries.length >= 5, `${menu} has too few entries`);
      for (const e of entries) {
        assert.ok(declared.has(e.command), `${menu} names unknown command ${e.command}`);
      }
    }
  });

  it("starts `gepad lsp` by default, as the manifest's settings say", () => {
    const props = manifest.contributes.configuration.properties;
    assert.equal(props["gepad.serverPath"].default, "gepad");
    assert.deepEqual(props["gepad.serverArgs"].default, ["lsp"]);
    assert.deepEqual(client.server, { command: "gepad", args: ["lsp"] });
    assert.equal(client.started, 1);
  });

  it("starts the configured server command", async () => {
    for (const d of ctx.subscriptions) d.dispose();
    mock = resetMock();
    ctx = context();
    await start({ "gepad.serverPath": "/opt/gepad/bin/gepad", "gepad.serverArgs": ["lsp", "--log-level", "debug"] });
    assert.deepEqual(client.server, { command: "/opt/gepad/bin/gepad", args: ["lsp", "--log-level", "debug"] });
  });

  it("names a bad serverArgs setting instead of starting", async () => {
    for (const d of ctx.subscriptions) d.dispose();
    mock = resetMock();
    ctx = context();
    mock.config = { "gepad.serverArgs": "lsp" };
    const result = await activate(ctx as never, { createClient: () => assert.fail("must not start") });
    assert.equal(result, undefined);
    assert.match(mock.errors[0], /gepad\.serverArgs must be an array of strings/);
  });

  it("reports a server that cannot start", async () => {
    for (const d of ctx.subscriptions) d.dispose();
    mock = resetMock();
    ctx = context();
    mock.config = { "gepad.statusRefreshSeconds": 0 };
    await activate(ctx as never, {
      createClient: (server) => {
        client = new FakeClient(server);
        client.startError = new Error("spawn gepad ENOENT");
        return client;
      },
    });
    await new Promise((r) => setImmediate(r));
    assert.ok(mock.errors.some((e) => /could not start the language server `gepad lsp`: spawn gepad ENOENT/.test(e)), mock.errors.join("\n"));
    assert.match(mock.statusItems[0].text, /\$\(warning\)/);
  });
});

describe("feedback commands", () => {
  it("👎 sends the selection as a 0-based LSP range with the comment", async () => {
    client.responses.set("gepad.thumbsDown", () => ({ example_id: 41 }));
    mock.inputAnswers = ["  too chatty "];
    const result = await run("gepad.vscode.thumbsDown");
    assert.deepEqual(result, { example_id: 41 });
    assert.deepEqual(client.calls("gepad.thumbsDown"), [
      { uri: URI, range: { start: { line: 2, character: 4 }, end: { line: 3, character: 10 } }, comment: "too chatty" },
    ]);
    assert.equal(client.sent.at(-1)?.method, "workspace/executeCommand");
    assert.match(mock.info.at(-1) ?? "", /👎 recorded \(example 41\)/);
  });

  it("👎 on an empty selection takes the whole current line and omits an empty comment", async () => {
    setEditor(fakeDocument("/work/notes.py", "python", TEXT), new Selection(new Position(3, 2), new Position(3, 2)));
    client.responses.set("gepad.thumbsDown", () => ({ example_id: 1 }));
    mock.inputAnswers = [""];
    await run("gepad.vscode.thumbsDown");
    assert.deepEqual(client.calls("gepad.thumbsDown"), [
      { uri: URI, range: { start: { line: 3, character: 0 }, end: { line: 3, character: 23 } } },
    ]);
  });

  it("👎 cancelled at the comment box sends nothing", async () => {
    mock.inputAnswers = [undefined];
    assert.equal(await run("gepad.vscode.thumbsDown"), undefined);
    assert.deepEqual(client.calls("gepad.thumbsDown"), []);
  });

  it("a selection made backwards is sent start-first", async () => {
    setEditor(fakeDocument("/work/notes.py", "python", TEXT), new Selection(new Position(3, 5), new Position(0, 1)));
    client.responses.set("gepad.thumbsUp", () => ({ example_id: 2 }));
    await run("gepad.vscode.thumbsUp");
    assert.deepEqual(client.calls("gepad.thumbsUp"), [
      { uri: URI, range: { start: { line: 0, character: 1 }, end: { line: 3, character: 5 } } },
    ]);
  });

  it("👍 sends only uri and range, and says when the feedback was spooled", async () => {
    client.responses.set("gepad.thumbsUp", () => ({ spooled: true }));
    await run("gepad.vscode.thumbsUp");
    const [args] = client.calls("gepad.thumbsUp");
    assert.deepEqual(Object.keys(args).sort(), ["range", "uri"]);
    assert.match(mock.info.at(-1) ?? "", /daemon is not reachable, it will be sent when it is back/);
    assert.equal(mock.inputBoxes.length, 0);
  });

  it("correct tracks the selection (no corrected text) with the optional comment", async () => {
    client.responses.set("gepad.correct", () => ({ tracking: true }));
    mock.inputAnswers = ["wrong API"];
    await run("gepad.vscode.correct");
    assert.deepEqual(client.calls("gepad.correct"), [
      { uri: URI, range: { start: { line: 2, character: 4 }, end: { line: 3, character: 10 } }, comment: "wrong API" },
    ]);
    assert.match(mock.info.at(-1) ?? "", /edit the selection and save/);
  });

  it("a server error is shown with its message, and the command does not throw", async () => {
    client.responses.set("gepad.thumbsUp", () => {
      throw Object.assign(new Error("range out of bounds: line 99 (the document has 5 lines)"), { code: -32602 });
    });
    assert.equal(await run("gepad.vscode.thumbsUp"), undefined);
    assert.match(mock.errors.at(-1) ?? "", /gepad\.thumbsUp failed: range out of bounds: line 99/);
  });

  it("with no editor open, asks for one and sends nothing", async () => {
    mock.activeTextEditor = undefined;
    await run("gepad.vscode.thumbsDown");
    await run("gepad.vscode.assist");
    assert.equal(client.sent.filter((r) => r.params.command !== "gepad.status").length, 0);
    assert.equal(mock.errors.length, 2);
    assert.match(mock.errors[0], /open a file/);
  });
});

describe("assistant", () => {
  it("sends the instruction and reports the generation and prompt version", async () => {
    client.responses.set("gepad.assist", () => ({ generation_id: 9, prompt_version: 3 }));
    mock.inputAnswers = ["make it shorter"];
    const result = await run("gepad.vscode.assist");
    assert.deepEqual(result, { generation_id: 9, prompt_version: 3 });
    assert.deepEqual(client.calls("gepad.assist"), [
      { uri: URI, range: { start: { line: 2, character: 4 }, end: { line: 3, character: 10 } }, instruction: "make it shorter" },
    ]);
    assert.match(mock.info.at(-1) ?? "", /prompt v3 \(generation 9\)/);
  });

  it("an empty or cancelled instruction sends nothing", async () => {
    mock.inputAnswers = ["   ", undefined];
    await run("gepad.vscode.assist");
    await run("gepad.vscode.assist");
    assert.deepEqual(client.calls("gepad.assist"), []);
  });
});

describe("prompt document and status bar", () => {
  const prompt = (component: string, version: number) => ({
    component, version, text: `Prompt text of ${component} v${version}.`, score: 0.75, source: "optimizer",
    created_at: 1, pinned: true, pending: null,
  });

  it("shows the file's component prompt in a read-only gepad: document", async () => {
    client.responses.set("gepad.prompt", (args) => prompt(String(args.component), 4));
    await run("gepad.vscode.showPrompt");
    setEditor(fakeDocument("/work/k.cu", "cuda-cpp", "__global__ void k() {}\n"), new Selection(new Position(0, 0), new Position(0, 0)));
    await run("gepad.vscode.showPrompt");
    assert.deepEqual(client.calls("gepad.prompt"), [{ component: "general" }, { component: "kernel" }]);
    assert.equal(mock.shownDocuments.length, 2);
    assert.equal(mock.shownDocuments[1].uri.scheme, "gepad");
    assert.match(mock.shownDocuments[1].text, /gepad prompt: kernel v4, score 0\.750 \(optimizer, pinned\)/);
    assert.match(mock.shownDocuments[1].text, /Prompt text of kernel v4\./);
  });

  it("the status bar shows the prompt version and the optimizer state", async () => {
    await ext.commands.refreshStatus();
    const item = mock.statusItems[0];
    assert.equal(item.visible, true);
    assert.equal(item.text, "$(sparkle) gepad v3 · idle");
    assert.equal(item.command, "gepad.vscode.showPrompt");
  });

  it("gepad/promptChanged updates the status bar and refreshes an open prompt document", async () => {
    await ext.commands.refreshStatus();
    const changed: string[] = [];
    ext.prompts.onDidChange((uri) => changed.push(uri.toString()));
    // What the daemon reports once the swap is done: the new version, the optimizer still busy.
    client.responses.set("gepad.status", () => ({
      ...STATUS,
      components: [{ ...STATUS.components[0], version: 5, score: 0.9 }, STATUS.components[1]],
      optimizer: { state: "running" },
    }));
    client.notify("gepad/promptChanged", { component: "general", version: 5, score: 0.9 });
    assert.match(mock.statusItems[0].text, /gepad v5 · /);
    assert.deepEqual(changed, ["gepad:/prompt/general.md"]);
    await new Promise((r) => setImmediate(r));
    assert.equal(mock.statusItems[0].text, "$(sparkle) gepad v5 · running");
  });

  it("a notification for another component or a malformed one leaves the item alone", async () => {
    await ext.commands.refreshStatus();
    client.notify("gepad/promptChanged", { component: "kernel", version: 8, score: null });
    client.notify("gepad/promptChanged", { component: "general" });
    assert.equal(mock.statusItems[0].text, "$(sparkle) gepad v3 · idle");
  });

  it("the status command summarizes the daemon's status", async () => {
    await run("gepad.vscode.status");
    assert.match(mock.info.at(-1) ?? "", /optimizer idle; prompts general v3, kernel v1; 7 examples/);
  });

  it("refreshes the status bar periodically when configured", async () => {
    for (const d of ctx.subscriptions) d.dispose();
    mock = resetMock();
    ctx = context();
    await start({ "gepad.statusRefreshSeconds": 0.02 });
    await new Promise((r) => setTimeout(r, 120));
    const polls = client.calls("gepad.status").length;
    assert.ok(polls >= 3, `only ${polls} status requests`);
    for (const d of ctx.subscriptions) d.dispose();
    ctx = context();
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(client.calls("gepad.status").length, polls, "the timer outlived its disposal");
  });

  it("deactivate stops the language client", async () => {
    await deactivate();
    assert.equal(client.stopped, 1);
  });
});

describe("dashboard", () => {
  function script(body: string): string {
    const dir = mkdtempSync(join(tmpdir(), "gepad-dash-"));
    const file = join(dir, "gepad");
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
    return file;
  }

  it("runs `gepad dashboard --print-url` and opens the one-time URL in the browser", async () => {
    const gepad = script('[ "$1 $2" = "dashboard --print-url" ] || exit 9\necho "http://127.0.0.1:7453/dashboard/?code=abc"');
    for (const d of ctx.subscriptions) d.dispose();
    mock = resetMock();
    ctx = context();
    await start({ "gepad.serverPath": gepad });
    await run("gepad.vscode.openDashboard");
    assert.deepEqual(mock.opened, ["http://127.0.0.1:7453/dashboard/?code=abc"]);
    assert.deepEqual(mock.errors, []);
  });

  it("says why when the daemon is not running, and opens nothing", async () => {
    const gepad = script('echo "gepad is not running (no daemon.json); start it with gepad start" >&2\nexit 3');
    for (const d of ctx.subscriptions) d.dispose();
    mock = resetMock();
    ctx = context();
    await start({ "gepad.serverPath": gepad });
    await run("gepad.vscode.openDashboard");
    assert.deepEqual(mock.opened, []);
    assert.match(mock.errors.join("\n"), /could not open the dashboard: gepad is not running/);
  });
});
