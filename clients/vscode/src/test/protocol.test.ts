import "./vscodeMock";

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serverCommand } from "../client";
import { componentOfUri, promptUri, renderPrompt } from "../promptDocument";
import { componentFor, isPromptChanged } from "../protocol";

describe("protocol helpers", () => {
  it("maps CUDA sources to the kernel component and the rest to general", () => {
    assert.equal(componentFor("/a/b/k.cu", "cuda-cpp"), "kernel");
    assert.equal(componentFor("/a/b/K.CUH", "plaintext"), "kernel");
    assert.equal(componentFor("/a/b/main.py", "python"), "general");
    assert.equal(componentFor("/a/b/cu", "plaintext"), "general");
  });

  it("recognizes gepad/promptChanged payloads", () => {
    assert.equal(isPromptChanged({ component: "general", version: 2, score: null }), true);
    assert.equal(isPromptChanged({ component: "general", version: "2" }), false);
    assert.equal(isPromptChanged(null), false);
  });

  it("round-trips a component through a prompt document URI", () => {
    const uri = promptUri("my component");
    assert.equal(uri.scheme, "gepad");
    assert.equal(componentOfUri(uri), "my component");
    assert.throws(
      () => componentOfUri({ path: "/other", toString: () => "gepad:/other" } as never),
      /not a gepad prompt document: gepad:\/other/,
    );
  });

  it("renders a prompt with its version, score and state", () => {
    const text = renderPrompt({
      component: "general", version: 2, text: "Be brief.", score: null, source: "user",
      created_at: 0, pinned: false, pending: { version: 3 },
    });
    assert.match(text, /general v2, score none yet \(user, a new version awaits approval\)/);
    assert.ok(text.endsWith("Be brief.\n"));
  });

  it("checks the server settings", () => {
    assert.deepEqual(serverCommand(" gepad ", ["lsp"]), { command: "gepad", args: ["lsp"] });
    assert.throws(() => serverCommand("", ["lsp"]), /gepad\.serverPath must be a non-empty string/);
    assert.throws(() => serverCommand("gepad", ["lsp", 3]), /gepad\.serverArgs must be an array of strings/);
  });
});
