/**
 * DOM builders of the browser's panels: the top list, the selected pair's detail (score, parent neuron, words,
 * top images), the neuron view (all heads of one neuron: sub-concepts) and the head view (its top neurons).
 * Text goes through textContent only (see dom.ts).
 */
import {
  HeadNeuronRow, HeadText, ImageRef, NeuronHeadColumn, PairDetail, RankedPair, TextWord, UnitImages, WordMatch,
} from "../../src/browser/protocol";
import { ImageUrls, el } from "./dom";
import { fmt } from "./heatmapLogic";

export interface PanelActions {
  pick(head: number, neuron: number): void;
  neuronView(neuron: number): void;
  headView(head: number): void;
  moreImages(head: number, neuron: number, offset: number): void;
}

/** Thumbnails of images; an image without bytes becomes an empty tile that still names the image. */
export function thumbnails(images: ImageRef[], buffers: Uint8Array[], urls: ImageUrls, cls = "nhb-thumbs"): HTMLDivElement {
  const box = el("div", cls);
  for (const im of images) {
    const fig = el("figure", "nhb-thumb");
    const bytes = im.buffer >= 0 ? buffers[im.buffer] : undefined;
    if (bytes && bytes.length) {
      const img = el("img", undefined, undefined, { alt: im.label || im.id, title: `${im.id} (s = ${fmt(im.value)})` });
      img.src = urls.url(bytes);
      fig.appendChild(img);
    } else {
      fig.appendChild(el("div", "nhb-noimg", "no image"));
    }
    fig.appendChild(el("figcaption", undefined, `${im.label || im.id} ${fmt(im.value)}`));
    box.appendChild(fig);
  }
  return box;
}

function pairButton(p: { head: number; neuron: number }, text: string, actions: PanelActions): HTMLButtonElement {
  const b = el("button", "nhb-link", text);
  b.addEventListener("click", () => actions.pick(p.head, p.neuron));
  return b;
}

/** The ranked list of best pairs (for the current score or query). */
export function topList(title: string, list: RankedPair[], actions: PanelActions, limit = 25): HTMLDivElement {
  const box = el("div", "nhb-toplist");
  box.appendChild(el("div", "nhb-h", title));
  const ol = el("ol");
  for (const p of list.slice(0, limit)) {
    const li = el("li");
    li.appendChild(pairButton(p, `head ${p.head} · neuron ${p.neuron}`, actions));
    li.appendChild(el("span", "nhb-val", ` ${fmt(p.score)}`));
    ol.appendChild(li);
  }
  box.appendChild(ol);
  return box;
}

function wordList(words: WordMatch[], sign: 1 | -1): HTMLDivElement {
  const box = el("div", "nhb-words");
  box.appendChild(el("div", "nhb-sub", sign > 0 ? "+w matches" : "−w matches"));
  const ul = el("ul");
  for (const w of words.filter((x) => x.sign === sign)) {
    const li = el("li");
    li.appendChild(el("span", "nhb-word", w.word));
    li.appendChild(el("span", "nhb-val", ` ${fmt(w.cosine)}`));
    ul.appendChild(li);
  }
  box.appendChild(ul);
  return box;
}

/** A unit's sparse text decomposition: OMP words with their signed coefficients, largest |γ| first. */
export function textWordList(title: string, words: TextWord[], cls = "nhb-omp"): HTMLDivElement {
  const box = el("div", `nhb-words ${cls}`);
  box.appendChild(el("div", "nhb-sub", title));
  const ul = el("ul");
  for (const w of words) {
    const li = el("li");
    li.appendChild(el("span", "nhb-word", w.word));
    const value = ` ${w.coefficient >= 0 ? "+" : "−"}${fmt(Math.abs(w.coefficient))}`;
    li.appendChild(el("span", w.coefficient < 0 ? "nhb-val nhb-neg" : "nhb-val", value));
    ul.appendChild(li);
  }
  if (!words.length) ul.appendChild(el("li", "nhb-val", "(no words: the unit does not vary)"));
  box.appendChild(ul);
  return box;
}

/** A head's TextSpan texts with the share of its output variance each explains. */
export function headTextList(title: string, texts: HeadText[]): HTMLDivElement {
  const box = el("div", "nhb-words nhb-textspan");
  box.appendChild(el("div", "nhb-sub", title));
  const ol = el("ol");
  for (const t of texts) {
    const li = el("li");
    li.appendChild(el("span", "nhb-word", t.text));
    li.appendChild(el("span", "nhb-val", ` ${(100 * t.fraction).toFixed(1)}%`));
    ol.appendChild(li);
  }
  box.appendChild(ol);
  return box;
}

/** The selected pair's detail. */
export function pairDetail(d: PairDetail, buffers: Uint8Array[], urls: ImageUrls, actions: PanelActions): HTMLDivElement {
  const box = el("div", "nhb-detail");
  box.appendChild(el("div", "nhb-h", `Pair: head ${d.head} · neuron ${d.neuron}`));
  const scores = el("div", "nhb-scores");
  for (const [name, v] of Object.entries(d.scores)) scores.appendChild(el("span", "nhb-score", `${name}: ${fmt(v)}`));
  box.appendChild(scores);
  const parent = el("div", "nhb-parent");
  parent.appendChild(el("span", undefined, `Parent neuron ${d.parent.neuron} (max ${fmt(d.parent.maxScore)} at head ${d.parent.bestHead}) `));
  const nv = el("button", "nhb-btn nhb-neuron-btn", "neuron view");
  nv.addEventListener("click", () => actions.neuronView(d.neuron));
  const hv = el("button", "nhb-btn nhb-head-btn", "head view");
  hv.addEventListener("click", () => actions.headView(d.head));
  parent.append(nv, hv);
  box.appendChild(parent);
  if (d.words.length) {
    const words = el("div", "nhb-wordcols");
    words.append(wordList(d.words, 1), wordList(d.words, -1));
    box.appendChild(words);
  }
  if (d.textWords || d.neuronWords || d.headTexts) {
    const text = el("div", "nhb-wordcols nhb-textlabels");
    if (d.textWords) {
      text.appendChild(textWordList("pair: sparse text decomposition (OMP γ)", d.textWords, "nhb-omp nhb-omp-pair"));
    }
    if (d.neuronWords) {
      text.appendChild(textWordList(`neuron ${d.neuron}: OMP γ`, d.neuronWords, "nhb-omp nhb-omp-neuron"));
    }
    if (d.headTexts?.length) text.appendChild(headTextList(`head ${d.head}: TextSpan`, d.headTexts));
    box.appendChild(text);
  }
  box.appendChild(el("div", "nhb-sub", `Top images (${d.images.length} of ${d.totalImages})`));
  box.appendChild(thumbnails(d.images, buffers, urls));
  if (d.totalImages > d.images.length) {
    const more = el("button", "nhb-btn nhb-more", "more images");
    more.addEventListener("click", () => actions.moreImages(d.head, d.neuron, d.images.length));
    box.appendChild(more);
  }
  return box;
}

/** A unit's own top images with what they are ranked by (neuron and head views). */
function ownImages(title: string, own: UnitImages, buffers: Uint8Array[], urls: ImageUrls): HTMLDivElement {
  const box = el("div", "nhb-own");
  box.appendChild(el("div", "nhb-sub", `${title} (by ${own.ranking})`));
  box.appendChild(thumbnails(own.images, buffers, urls, "nhb-thumbs nhb-small"));
  return box;
}

/**
 * Neuron view: the neuron's OMP words and own top images (when the kernel has them), then every head of the neuron
 * side by side with its pair's top images — the sub-concepts, one click from the neuron.
 */
export function neuronView(
  neuron: number, cols: NeuronHeadColumn[], buffers: Uint8Array[], urls: ImageUrls, actions: PanelActions,
  own?: UnitImages, words?: TextWord[],
): HTMLDivElement {
  const box = el("div", "nhb-neuronview");
  box.appendChild(el("div", "nhb-h", `Neuron ${neuron}: all ${cols.length} heads (sub-concepts)`));
  if (words) {
    const title = `neuron ${neuron}: sparse text decomposition (OMP γ)`;
    box.appendChild(textWordList(title, words, "nhb-omp nhb-omp-neuron"));
  }
  if (own) box.appendChild(ownImages(`Neuron ${neuron}'s own top images`, own, buffers, urls));
  const row = el("div", "nhb-columns");
  for (const c of cols) {
    const col = el("div", "nhb-column");
    col.appendChild(pairButton({ head: c.head, neuron }, `head ${c.head} · ${fmt(c.score)}`, actions));
    col.appendChild(thumbnails(c.images, buffers, urls, "nhb-thumbs nhb-small"));
    row.appendChild(col);
  }
  box.appendChild(row);
  return box;
}

/**
 * Head view: the head's TextSpan texts and own top images (when the kernel has them), then its top neurons by the
 * first score with a few images.
 */
export function headView(
  head: number, rows: HeadNeuronRow[], buffers: Uint8Array[], urls: ImageUrls, actions: PanelActions,
  own?: UnitImages, texts?: HeadText[],
): HTMLDivElement {
  const box = el("div", "nhb-headview");
  box.appendChild(el("div", "nhb-h", `Head ${head}: top ${rows.length} neurons`));
  if (texts?.length) {
    box.appendChild(headTextList(`head ${head}: TextSpan texts (share of the head's variance)`, texts));
  }
  if (own) box.appendChild(ownImages(`Head ${head}'s own top images`, own, buffers, urls));
  for (const r of rows) {
    const line = el("div", "nhb-headrow");
    line.appendChild(pairButton({ head, neuron: r.neuron }, `neuron ${r.neuron} · ${fmt(r.score)}`, actions));
    line.appendChild(thumbnails(r.images, buffers, urls, "nhb-thumbs nhb-small"));
    box.appendChild(line);
  }
  return box;
}
