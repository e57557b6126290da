// html-manager's libembed-style code assigns webpack's public path global; esbuild has none (toolchain.md §4).
(globalThis as { __webpack_public_path__?: string }).__webpack_public_path__ ??= "";
export {};
