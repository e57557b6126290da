/**
 * A small Markdown → HTML renderer for notebook markdown cells in exported pages (no dependency): headings,
 * paragraphs, emphasis, inline code, links, bullet/numbered lists, fenced code, pipe tables, rules.
 * Text is HTML-escaped first; raw HTML in markdown is shown as text.
 */

import katex from "katex";
import { escapeHtml } from "../util/html";

/** TeX → MathML (KaTeX), which browsers render natively: no fonts, no CSS, no network. Bad TeX shows as red text. */
export function renderMath(tex: string, display: boolean): string {
  return katex.renderToString(tex, { displayMode: display, output: "mathml", throwOnError: false, strict: "ignore" });
}

/**
 * Inline markup on one line of markdown: code spans first (their `$` and `*` are literal), then $…$ / $$…$$ math,
 * then HTML escaping, links and emphasis.
 */
export function inline(text: string): string {
  const codes: string[] = [];
  const maths: string[] = [];
  let s = text.replace(/`([^`]+)`/g, (_m, c: string) => `\u0000${codes.push(c) - 1}\u0000`);
  s = s.replace(/\$\$([^$]+)\$\$|(^|[^\\$])\$([^$\s](?:[^$]*[^$\s])?)\$(?!\d)/g, (_m, display: string, pre: string, tex: string) =>
    display !== undefined ? `\u0001${maths.push(renderMath(display, true)) - 1}\u0001` : `${pre}\u0001${maths.push(renderMath(tex, false)) - 1}\u0001`);
  s = escapeHtml(s)
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_m, t: string, u: string) => (/^(https?:|#|\.{0,2}\/|[\w.-]+$)/.test(u) ? `<a href="${u}">${t}</a>` : t))
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[^\w*])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>")
    .replace(/(^|\W)_([^_\s][^_]*)_(?=\W|$)/g, "$1<em>$2</em>");
  return s.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => `<code>${escapeHtml(codes[Number(i)])}</code>`)
    .replace(/\u0001(\d+)\u0001/g, (_m, i: string) => maths[Number(i)]);
}

function tableCells(line: string): string[] {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
}

export function markdownToHtml(src: string): string {
  const lines = src.replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (/^\s*$/.test(line)) {
      i++;
    } else if (/^\s*\$\$/.test(line) && !/^\s*\$\$.*\$\$/.test(line)) {
      // A display-math block: $$ … $$ over several lines.
      const body: string[] = [line.replace(/^\s*\$\$/, "")];
      while (!/\$\$\s*$/.test(body[body.length - 1]) && i + 1 < lines.length) body.push(lines[++i]);
      i++;
      out.push(`<div class="math">${renderMath(body.join("\n").replace(/\$\$\s*$/, ""), true)}</div>`);
    } else if (/^```/.test(line)) {
      const body: string[] = [];
      for (i++; i < lines.length && !/^```/.test(lines[i]); i++) body.push(lines[i]);
      i++;
      out.push(`<pre><code>${escapeHtml(body.join("\n"))}</code></pre>`);
    } else if (/^#{1,6}\s/.test(line)) {
      const level = line.match(/^#+/)![0].length;
      out.push(`<h${level}>${inline(line.slice(level).trim())}</h${level}>`);
      i++;
    } else if (/^\s*([-*_])\s*\1\s*\1[\s\-*_]*$/.test(line)) {
      out.push("<hr>");
      i++;
    } else if (/^\s*\|/.test(line) && i + 1 < lines.length && /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/.test(lines[i + 1])) {
      const head = tableCells(line);
      const rows: string[][] = [];
      for (i += 2; i < lines.length && /^\s*\|/.test(lines[i]); i++) rows.push(tableCells(lines[i]));
      out.push(
        `<table><thead><tr>${head.map((h) => `<th>${inline(h)}</th>`).join("")}</tr></thead><tbody>` +
          rows.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join("")}</tr>`).join("") +
          `</tbody></table>`,
      );
    } else if (/^\s*([-*+]|\d+[.)])\s+/.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const items: string[] = [];
      for (; i < lines.length && /^\s*([-*+]|\d+[.)])\s+/.test(lines[i]); i++) {
        let item = lines[i].replace(/^\s*([-*+]|\d+[.)])\s+/, "");
        while (i + 1 < lines.length && /^\s{2,}\S/.test(lines[i + 1]) && !/^\s*([-*+]|\d+[.)])\s+/.test(lines[i + 1])) item += " " + lines[++i].trim();
        items.push(`<li>${inline(item)}</li>`);
      }
      out.push(`<${ordered ? "ol" : "ul"}>${items.join("")}</${ordered ? "ol" : "ul"}>`);
    } else {
      const para: string[] = [];
      for (; i < lines.length && !/^\s*$/.test(lines[i]) && !/^(#{1,6}\s|```|\s*\|)/.test(lines[i]) && !/^\s*([-*+]|\d+[.)])\s+/.test(lines[i]); i++) {
        para.push(lines[i].trim());
      }
      if (para.length === 0) {
        out.push(`<p>${inline(lines[i].trim())}</p>`);
        i++;
      } else out.push(`<p>${inline(para.join(" "))}</p>`);
    }
  }
  return out.join("\n");
}
