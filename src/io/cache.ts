import * as os from "os";
import * as path from "path";

/**
 * clip-nad's cache folder: `override`, else $CLIP_NAD_CACHE, else ~/.cache/clip-nad. It holds ONNX graphs
 * (graphs/), memoised checkpoint hashes (hashes/) and text-embedding dictionaries (text/). Named OpenAI
 * checkpoints live elsewhere, where clip.load keeps them (src/clip/resolve.ts).
 */
export function cacheDir(override?: string): string {
  return override ?? (process.env.CLIP_NAD_CACHE || path.join(os.homedir(), ".cache", "clip-nad"));
}
