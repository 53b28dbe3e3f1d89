"""gepad_lsp: the editor bridge (language server). Not built yet; see issue 5."""
