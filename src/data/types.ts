/** Common shape of every dataset reader's result. Paths are absolute. */
export interface DatasetItem {
  /** Stable id: the image's path relative to the dataset root, "/"-separated (src/data/images.ts). */
  id: string;
  /** Absolute image path. */
  path: string;
  /** Class index (0-based) when the dataset is labelled. */
  label?: number;
  /** Human-readable class name of `label`. */
  labelName?: string;
  /** Absolute path of a segmentation mask, when the dataset has one. */
  maskPath?: string;
  /** Year attached to the item (Stanford Cars model year, toy-world drift year). */
  year?: number;
  /** Reader-specific extras (bounding boxes, colour ids, captions, attribute records…). */
  meta?: Record<string, unknown>;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface Dataset {
  /** Which reader produced it, e.g. "imagenet-val". */
  name: string;
  root: string;
  items: DatasetItem[];
  /** Class names by label index, when labelled. */
  classNames?: string[];
  /** Files that were present but not used, with the reason. */
  skipped?: SkippedFile[];
}
