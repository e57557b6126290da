/**
 * Tiny DOM helpers. Every piece of text reaches the page through `textContent` (never innerHTML), so vocabulary
 * words, image labels and kernel error messages render as text whatever characters they hold.
 */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K, cls?: string, text?: string, attrs?: Record<string, string>,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  if (attrs) for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

/** Replace all children of `parent`. */
export function replaceChildren(parent: Element, ...children: Node[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  for (const c of children) parent.appendChild(c);
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * Object URLs for thumbnails (PNG bytes). Falls back to data: URLs where createObjectURL is missing (jsdom).
 * `release()` revokes what the previous render created.
 */
export class ImageUrls {
  private urls: string[] = [];

  url(png: Uint8Array): string {
    if (typeof URL.createObjectURL === "function") {
      const u = URL.createObjectURL(new Blob([png as BlobPart], { type: "image/png" }));
      this.urls.push(u);
      return u;
    }
    return `data:image/png;base64,${base64(png)}`;
  }

  release(): void {
    if (typeof URL.revokeObjectURL === "function") for (const u of this.urls) URL.revokeObjectURL(u);
    this.urls = [];
  }
}
